#!/usr/bin/env node
// A fake forge for the tests: the endpoints shipyard calls on GitHub, Gitea /
// Forgejo and GitLab, on loopback: commit statuses, pull request comments
// (issue comments; GitLab merge request notes) created and edited, reactions
// to comments (GitLab award emoji), and a user's permission (Gitea
// collaborators/{user}/permission, GitLab members/all/{user_id}). Every call
// is checked (GitHub bodies against the request schemas extracted from
// GitHub's OpenAPI description into schemas/, headers against the API's
// rules) and recorded as one JSON line; comments are kept, so that an edit
// of an unknown comment answers 404 as a forge does.
//
// Usage: node server.js PORT CALLS_FILE [TOKEN]
//   PORT        port on 127.0.0.1 (0 picks a free one); the first line on
//               stdout is "fakeforge listening on 127.0.0.1:<port>"
//   CALLS_FILE  each call appended as one JSON line:
//               {time, forge, method, path, params, headers, token_matched,
//                body, valid, errors, status, injected}
//               headers never hold the token's value (authorization and
//               private-token are removed; token_matched says whether it was
//               the expected one)
//   TOKEN       the expected token (or $FAKEFORGE_TOKEN); when unset any
//               token is accepted and token_matched is null
//
// Misbehaving on purpose: the next answers can be forced, in order, with
//   $FAKEFORGE_FAIL="500x2,403x1,422x1" at start, or
//   POST /__fail {"status":500|403|429|422,"count":N,"retry_after":S,"message":"..."}
// 403 and 429 carry Retry-After (default 1 s) and x-ratelimit-remaining: 0,
// x-ratelimit-reset; 422 a GitHub-style validation message.
// GET /__calls returns the recorded calls; GET /__comments the comments
// (with their reactions); POST /__permission {"user": "bob", "permission":
// "write"} (Gitea) or {"user_id": 5, "access_level": 30} (GitLab) sets what
// the permission endpoints answer (unknown users: 404); POST /__reset forgets
// calls, comments and forced answers.
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const Ajv = require(path.join(__dirname, '..', 'npm', 'node_modules', 'ajv'));

const [portArg, callsFile, tokenArg] = process.argv.slice(2);
if (portArg === undefined || !callsFile) {
	process.stderr.write('usage: server.js PORT CALLS_FILE [TOKEN]\n');
	process.exit(2);
}
const TOKEN = tokenArg || process.env.FAKEFORGE_TOKEN || null;
const DESCRIPTION_MAX = 140; // GitHub answers 422 beyond this (not in the OpenAPI text)
const BODY_MAX = 1 << 20;

const ajv = new Ajv({ allErrors: true, strict: false });
ajv.addKeyword('x-endpoint');
const githubStatusSchema = JSON.parse(fs.readFileSync(
	path.join(__dirname, 'schemas', 'repos-create-commit-status.json'), 'utf8'));
const validateGithubStatus = ajv.compile(githubStatusSchema);
const githubSchemas = {};
for (const [kind, file] of [['comment-create', 'issues-create-comment'],
	['comment-edit', 'issues-update-comment'], ['reaction', 'reactions-create-for-issue-comment']])
	githubSchemas[kind] = ajv.compile(JSON.parse(fs.readFileSync(
		path.join(__dirname, 'schemas', `${file}.json`), 'utf8')));

let comments = []; // {id, forge, repo, number, body, reactions: []}
let permissions = { users: {}, ids: {} };

let calls = [];
let forced = [];

function parseFailSpec(spec) {
	const out = [];
	for (const part of (spec || '').split(',').filter(Boolean)) {
		const m = /^(\d{3})(?:x(\d+))?$/.exec(part.trim());
		if (!m)
			throw new Error(`FAKEFORGE_FAIL: cannot parse '${part}'`);
		for (let i = 0; i < Number(m[2] || 1); i++)
			out.push({ status: Number(m[1]) });
	}
	return out;
}
forced = parseFailSpec(process.env.FAKEFORGE_FAIL);

// Routes: forge, method, kind of call, regular expression on the path,
// parameter names.
const GH = '\\/repos\\/([^/]+)\\/([^/]+)';
const GL = '(?:\\/api\\/v4)?\\/projects\\/([^/]+)';
const ROUTES = [];
for (const [forge, prefix] of [['github', ''], ['gitea', '\\/api\\/v1']]) {
	const base = prefix + GH;
	ROUTES.push(
		{ forge, method: 'POST', kind: 'status', re: new RegExp(`^${base}\\/statuses\\/([^/]+)$`), names: ['owner', 'repo', 'sha'] },
		{ forge, method: 'POST', kind: 'comment-create', re: new RegExp(`^${base}\\/issues\\/(\\d+)\\/comments$`), names: ['owner', 'repo', 'number'] },
		{ forge, method: 'PATCH', kind: 'comment-edit', re: new RegExp(`^${base}\\/issues\\/comments\\/(\\d+)$`), names: ['owner', 'repo', 'comment_id'] },
		{ forge, method: 'POST', kind: 'reaction', re: new RegExp(`^${base}\\/issues\\/comments\\/(\\d+)\\/reactions$`), names: ['owner', 'repo', 'comment_id'] });
}
ROUTES.push(
	{ forge: 'gitea', method: 'GET', kind: 'permission', re: new RegExp(`^\\/api\\/v1${GH}\\/collaborators\\/([^/]+)\\/permission$`), names: ['owner', 'repo', 'user'] },
	{ forge: 'gitlab', method: 'POST', kind: 'status', re: new RegExp(`^${GL}\\/statuses\\/([^/]+)$`), names: ['id', 'sha'] },
	{ forge: 'gitlab', method: 'POST', kind: 'comment-create', re: new RegExp(`^${GL}\\/merge_requests\\/(\\d+)\\/notes$`), names: ['id', 'number'] },
	{ forge: 'gitlab', method: 'PUT', kind: 'comment-edit', re: new RegExp(`^${GL}\\/merge_requests\\/(\\d+)\\/notes\\/(\\d+)$`), names: ['id', 'number', 'comment_id'] },
	{ forge: 'gitlab', method: 'POST', kind: 'reaction', re: new RegExp(`^${GL}\\/merge_requests\\/(\\d+)\\/notes\\/(\\d+)\\/award_emoji$`), names: ['id', 'number', 'comment_id'] },
	{ forge: 'gitlab', method: 'GET', kind: 'permission', re: new RegExp(`^${GL}\\/members\\/all\\/(\\d+)$`), names: ['id', 'user_id'] });

function route(method, urlPath) {
	for (const r of ROUTES) {
		const m = r.re.exec(urlPath);
		if (m && r.method === method) {
			const params = {};
			r.names.forEach((n, i) => { params[n] = decodeURIComponent(m[i + 1]); });
			return { forge: r.forge, kind: r.kind, params };
		}
	}
	return null;
}

// The token the request carries, by the forge's rule, or null.
function tokenOf(forge, headers) {
	const auth = headers.authorization || '';
	if (forge === 'github') {
		const m = /^Bearer (.+)$/.exec(auth);
		return m ? m[1] : null;
	}
	if (forge === 'gitea') {
		const m = /^token (.+)$/.exec(auth);
		return m ? m[1] : null;
	}
	return headers['private-token'] || null;
}

function checkHeaders(forge, kind, headers, errors) {
	if (kind !== 'permission' && !/^application\/json/.test(headers['content-type'] || ''))
		errors.push(`content-type is '${headers['content-type'] || ''}', expected application/json`);
	if (!headers['user-agent'])
		errors.push('no user-agent header');
	if (forge === 'github') {
		if (headers.accept !== 'application/vnd.github+json')
			errors.push(`accept is '${headers.accept || ''}', expected application/vnd.github+json`);
		if (headers['x-github-api-version'] !== '2022-11-28')
			errors.push(`x-github-api-version is '${headers['x-github-api-version'] || ''}', expected 2022-11-28`);
	}
}

function checkString(body, field, errors) {
	if (body[field] !== undefined && body[field] !== null && typeof body[field] !== 'string')
		errors.push(`${field} must be a string`);
}

// The fields a message call may carry, per forge (GitHub's come from its
// schemas): Gitea CreateIssueCommentOption / EditIssueCommentOption {body},
// EditReactionOption {content}; GitLab notes {body} and award_emoji {name}.
const MESSAGE_FIELDS = {
	'comment-create': { gitea: ['body'], gitlab: ['body', 'created_at', 'internal', 'merge_request_diff_head_sha'] },
	'comment-edit': { gitea: ['body'], gitlab: ['body'] },
	reaction: { gitea: ['content'], gitlab: ['name'] },
};
const GITEA_REACTIONS = ['+1', '-1', 'laugh', 'hooray', 'confused', 'heart', 'rocket', 'eyes'];
const GITLAB_EMOJI = ['thumbsup', 'thumbsdown'];

function checkMessage(forge, kind, body, errors) {
	if (forge === 'github') {
		const v = githubSchemas[kind];
		if (!v(body))
			for (const e of v.errors)
				errors.push(`schema: ${e.instancePath || '/'} ${e.message}`);
		const allowed = kind === 'reaction' ? ['content'] : ['body'];
		for (const k of Object.keys(body))
			if (!allowed.includes(k))
				errors.push(`unknown field '${k}'`);
		return;
	}
	for (const k of Object.keys(body))
		if (!MESSAGE_FIELDS[kind][forge].includes(k))
			errors.push(`unknown field '${k}'`);
	if (kind === 'reaction' && forge === 'gitea' && !GITEA_REACTIONS.includes(body.content))
		errors.push(`content '${body.content}' is not a Gitea reaction`);
	if (kind === 'reaction' && forge === 'gitlab' && !GITLAB_EMOJI.includes(body.name))
		errors.push(`name '${body.name}' is not an emoji shipyard should award`);
	if (kind !== 'reaction' && (typeof body.body !== 'string' || body.body === ''))
		errors.push('body must be a non-empty string');
}

// Gitea's CreateStatusOption and GitLab's statuses parameters have no
// OpenAPI description in an npm package; they are checked by hand.
function checkBody(forge, kind, body, errors) {
	if (typeof body !== 'object' || body === null || Array.isArray(body)) {
		errors.push('body is not a JSON object');
		return;
	}
	if (kind !== 'status')
		return checkMessage(forge, kind, body, errors);
	if (forge === 'github') {
		if (!validateGithubStatus(body))
			for (const e of validateGithubStatus.errors)
				errors.push(`schema: ${e.instancePath || '/'} ${e.message}`);
	} else if (forge === 'gitea') {
		if (!['pending', 'success', 'error', 'failure', 'warning'].includes(body.state))
			errors.push(`state '${body.state}' is not a Gitea state`);
		for (const f of ['target_url', 'description', 'context'])
			checkString(body, f, errors);
	} else {
		if (!['pending', 'running', 'success', 'failed', 'canceled', 'skipped'].includes(body.state))
			errors.push(`state '${body.state}' is not a GitLab state`);
		for (const f of ['target_url', 'description', 'name', 'ref'])
			checkString(body, f, errors);
		if (body.context !== undefined)
			errors.push('GitLab names the context "name"');
	}
	const allowed = forge === 'gitlab'
		? ['state', 'ref', 'name', 'context', 'target_url', 'description', 'coverage', 'pipeline_id']
		: ['state', 'target_url', 'description', 'context'];
	for (const k of Object.keys(body))
		if (!allowed.includes(k))
			errors.push(`unknown field '${k}'`);
}

function send(res, status, body, headers = {}) {
	res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
	res.end(JSON.stringify(body));
}

function forcedAnswer(f) {
	const wait = f.retry_after === undefined ? 1 : f.retry_after;
	const limited = {
		'retry-after': String(wait),
		'x-ratelimit-limit': '5000',
		'x-ratelimit-remaining': '0',
		'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + wait),
	};
	switch (f.status) {
	case 403:
		return [403, { message: f.message || 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.' }, limited];
	case 429:
		return [429, { message: f.message || 'Too Many Requests' }, limited];
	case 422:
		return [422, {
			message: 'Validation Failed',
			errors: [{ resource: 'Status', code: 'custom', field: 'description',
				message: f.message || 'description is too long (maximum is 140 characters)' }],
			documentation_url: 'https://docs.github.com/rest/commits/statuses#create-a-commit-status',
		}, {}];
	default:
		return [f.status, { message: f.message || 'Server Error' }, {}];
	}
}

function repoOf(forge, params) {
	return forge === 'gitlab' ? params.id : `${params.owner}/${params.repo}`;
}

function commentJson(forge, c) {
	if (forge === 'gitlab')
		return { id: c.id, body: c.body, noteable_type: 'MergeRequest', noteable_iid: c.number,
			author: { id: 1, username: 'shipyard' }, system: false };
	return { id: c.id, body: c.body, user: { login: 'shipyard-bot', id: 1 },
		html_url: `http://127.0.0.1/${c.repo}/pull/${c.number}#issuecomment-${c.id}` };
}

// Answers to the message and permission calls, on the comments kept.
function messageAnswer(forge, kind, params, body) {
	const repo = repoOf(forge, params);
	const find = () => comments.find((c) => c.forge === forge && c.repo === repo &&
		c.id === Number(params.comment_id) && (!params.number || c.number === Number(params.number)));
	if (kind === 'permission') {
		if (forge === 'gitlab') {
			const level = permissions.ids[params.user_id];
			return level === undefined ? [404, { message: '404 Not found' }]
				: [200, { id: Number(params.user_id), username: `user${params.user_id}`, access_level: level }];
		}
		const perm = permissions.users[params.user];
		return perm === undefined ? [404, { message: 'user does not exist' }]
			: [200, { permission: perm, role_name: perm, user: { login: params.user } }];
	}
	if (kind === 'comment-create') {
		const c = { id: 1000 + comments.length + 1, forge, repo, number: Number(params.number),
			body: body.body, reactions: [], edits: 0 };
		comments.push(c);
		return [201, commentJson(forge, c)];
	}
	const c = find();
	if (!c)
		return [404, { message: 'Not Found' }];
	if (kind === 'comment-edit') {
		c.body = body.body;
		c.edits++;
		return [200, commentJson(forge, c)];
	}
	const content = forge === 'gitlab' ? body.name : body.content;
	c.reactions.push(content);
	return [201, forge === 'gitlab' ? { id: c.reactions.length, name: content, awardable_id: c.id }
		: { id: c.reactions.length, content, user: { login: 'shipyard-bot' } }];
}

// The answer a real forge would give to a well-formed or malformed call.
function realAnswer(forge, kind, params, body, rec) {
	if (rec.token_matched === false || (TOKEN && rec.token_matched === null))
		return [401, { message: 'Bad credentials' }];
	if (kind === 'permission')
		return rec.valid ? messageAnswer(forge, kind, params, body)
			: [422, { message: 'Validation Failed', errors: rec.errors.map((m) => ({ message: m })) }];
	if (body === undefined)
		return [400, { message: 'Problems parsing JSON' }];
	if (!rec.valid)
		return [422, { message: 'Validation Failed', errors: rec.errors.map((m) => ({ message: m })) }];
	if (kind !== 'status')
		return messageAnswer(forge, kind, params, body);
	if (typeof body.description === 'string' && [...body.description].length > DESCRIPTION_MAX)
		return [422, { message: 'Validation Failed', errors: [{ resource: 'Status', code: 'custom',
			field: 'description', message: 'description is too long (maximum is 140 characters)' }] }];
	const id = calls.length + 1;
	const now = new Date().toISOString();
	if (forge === 'gitlab')
		return [201, { id, sha: params.sha, status: body.state, name: body.name || 'default',
			target_url: body.target_url || null, description: body.description || null, created_at: now }];
	return [201, { id, url: `http://127.0.0.1/repos/${params.owner}/${params.repo}/statuses/${params.sha}`,
		state: body.state, description: body.description || null, target_url: body.target_url || null,
		context: body.context || 'default', created_at: now, updated_at: now }];
}

function record(rec) {
	calls.push(rec);
	fs.appendFileSync(callsFile, JSON.stringify(rec) + '\n');
}

function handleApi(req, res, r, raw) {
	const headers = { ...req.headers };
	const token = tokenOf(r.forge, headers);
	delete headers.authorization;
	delete headers['private-token'];
	const errors = [];
	let body;
	if (r.kind === 'permission') {
		if (raw !== '')
			errors.push('a GET with a body');
	} else {
		try {
			body = JSON.parse(raw);
		} catch (e) {
			errors.push(`body is not JSON: ${e.message}`);
		}
	}
	checkHeaders(r.forge, r.kind, headers, errors);
	if (body !== undefined)
		checkBody(r.forge, r.kind, body, errors);
	if (r.kind === 'status' && !/^[0-9a-fA-F]{7,64}$/.test(r.params.sha))
		errors.push(`sha '${r.params.sha}' is not a commit id`);
	const rec = {
		time: new Date().toISOString(), forge: r.forge, kind: r.kind, method: req.method, path: req.url,
		params: r.params, headers, token_matched: TOKEN ? token === TOKEN : null,
		body: body === undefined ? raw : body, valid: errors.length === 0, errors,
	};
	let answer;
	if (forced.length > 0) {
		answer = forcedAnswer(forced.shift());
		rec.injected = true;
	} else {
		answer = realAnswer(r.forge, r.kind, r.params, body, rec);
	}
	rec.status = answer[0];
	record(rec);
	send(res, answer[0], answer[1], answer[2]);
}

function handleControl(req, res, raw) {
	if (req.method === 'GET' && req.url === '/__calls')
		return send(res, 200, calls);
	if (req.method === 'GET' && req.url === '/__comments')
		return send(res, 200, comments);
	if (req.method === 'POST' && req.url === '/__reset') {
		calls = [];
		forced = [];
		comments = [];
		return send(res, 200, { ok: true });
	}
	if (req.method === 'POST' && req.url === '/__permission') {
		let p;
		try {
			p = JSON.parse(raw);
		} catch (e) {
			return send(res, 400, { message: e.message });
		}
		if (typeof p.user === 'string' && typeof p.permission === 'string')
			permissions.users[p.user] = p.permission;
		else if (Number.isInteger(p.user_id) && Number.isInteger(p.access_level))
			permissions.ids[p.user_id] = p.access_level;
		else
			return send(res, 400, { message: 'needs {user, permission} or {user_id, access_level}' });
		return send(res, 200, { ok: true });
	}
	if (req.method === 'POST' && req.url === '/__fail') {
		let spec;
		try {
			spec = JSON.parse(raw);
		} catch (e) {
			return send(res, 400, { message: e.message });
		}
		if (![403, 429, 422].includes(spec.status) && !(spec.status >= 500 && spec.status < 600))
			return send(res, 400, { message: 'status must be 5xx, 403, 429 or 422' });
		for (let i = 0; i < (spec.count || 1); i++)
			forced.push({ status: spec.status, retry_after: spec.retry_after, message: spec.message });
		return send(res, 200, { queued: forced.length });
	}
	return send(res, 404, { message: 'Not Found' });
}

const server = http.createServer((req, res) => {
	const chunks = [];
	let size = 0;
	req.on('data', (c) => {
		size += c.length;
		if (size <= BODY_MAX)
			chunks.push(c);
	});
	req.on('end', () => {
		if (size > BODY_MAX)
			return send(res, 413, { message: 'body too large' });
		const raw = Buffer.concat(chunks).toString('utf8');
		const urlPath = req.url.split('?')[0];
		if (urlPath.startsWith('/__'))
			return handleControl(req, res, raw);
		const r = route(req.method, urlPath);
		if (!r)
			return send(res, 404, { message: 'Not Found' });
		return handleApi(req, res, r, raw);
	});
});

server.listen(Number(portArg), '127.0.0.1', () => {
	process.stdout.write(`fakeforge listening on 127.0.0.1:${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));

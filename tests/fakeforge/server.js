#!/usr/bin/env node
// A fake forge for the tests: the commit-status endpoints of GitHub, Gitea /
// Forgejo and GitLab on loopback. Every call is checked (GitHub bodies against
// the request schema extracted from GitHub's OpenAPI description into
// schemas/, headers against the API's rules) and recorded as one JSON line.
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
// GET /__calls returns the recorded calls; POST /__reset forgets calls and
// forced answers.
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

// Routes: forge, regular expression on the path, parameter names.
const ROUTES = [
	{ forge: 'github', re: /^\/repos\/([^/]+)\/([^/]+)\/statuses\/([^/]+)$/, names: ['owner', 'repo', 'sha'] },
	{ forge: 'gitea', re: /^\/api\/v1\/repos\/([^/]+)\/([^/]+)\/statuses\/([^/]+)$/, names: ['owner', 'repo', 'sha'] },
	{ forge: 'gitlab', re: /^(?:\/api\/v4)?\/projects\/([^/]+)\/statuses\/([^/]+)$/, names: ['id', 'sha'] },
];

function route(urlPath) {
	for (const r of ROUTES) {
		const m = r.re.exec(urlPath);
		if (m) {
			const params = {};
			r.names.forEach((n, i) => { params[n] = decodeURIComponent(m[i + 1]); });
			return { forge: r.forge, params };
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

function checkHeaders(forge, headers, errors) {
	if (!/^application\/json/.test(headers['content-type'] || ''))
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

// Gitea's CreateStatusOption and GitLab's statuses parameters have no
// OpenAPI description in an npm package; they are checked by hand.
function checkBody(forge, body, errors) {
	if (typeof body !== 'object' || body === null || Array.isArray(body)) {
		errors.push('body is not a JSON object');
		return;
	}
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

// The answer a real forge would give to a well-formed or malformed call.
function realAnswer(forge, params, body, rec) {
	if (rec.token_matched === false || (TOKEN && rec.token_matched === null))
		return [401, { message: 'Bad credentials' }];
	if (body === undefined)
		return [400, { message: 'Problems parsing JSON' }];
	if (!rec.valid)
		return [422, { message: 'Validation Failed', errors: rec.errors.map((m) => ({ message: m })) }];
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

function handleStatus(req, res, r, raw) {
	const headers = { ...req.headers };
	const token = tokenOf(r.forge, headers);
	delete headers.authorization;
	delete headers['private-token'];
	const errors = [];
	let body;
	try {
		body = JSON.parse(raw);
	} catch (e) {
		errors.push(`body is not JSON: ${e.message}`);
	}
	checkHeaders(r.forge, headers, errors);
	if (body !== undefined)
		checkBody(r.forge, body, errors);
	if (!/^[0-9a-fA-F]{7,64}$/.test(r.params.sha))
		errors.push(`sha '${r.params.sha}' is not a commit id`);
	const rec = {
		time: new Date().toISOString(), forge: r.forge, method: req.method, path: req.url,
		params: r.params, headers, token_matched: TOKEN ? token === TOKEN : null,
		body: body === undefined ? raw : body, valid: errors.length === 0, errors,
	};
	let answer;
	if (forced.length > 0) {
		answer = forcedAnswer(forced.shift());
		rec.injected = true;
	} else {
		answer = realAnswer(r.forge, r.params, body, rec);
	}
	rec.status = answer[0];
	record(rec);
	send(res, answer[0], answer[1], answer[2]);
}

function handleControl(req, res, raw) {
	if (req.method === 'GET' && req.url === '/__calls')
		return send(res, 200, calls);
	if (req.method === 'POST' && req.url === '/__reset') {
		calls = [];
		forced = [];
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
		const r = route(urlPath);
		if (!r || req.method !== 'POST')
			return send(res, 404, { message: 'Not Found' });
		return handleStatus(req, res, r, raw);
	});
});

server.listen(Number(portArg), '127.0.0.1', () => {
	process.stdout.write(`fakeforge listening on 127.0.0.1:${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));

#!/usr/bin/env node
// Extracts from GitHub's OpenAPI description (npm package @octokit/openapi,
// generated/api.github.com.json) the request-body schemas of the endpoints
// shipyard calls, into tests/fakeforge/schemas/<operationId>.json, with every
// $ref resolved. The output is committed; run this again after changing the
// package version in tests/npm/package.json:
//   node tests/fakeforge/extract-schemas.js
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const npmDir = path.join(__dirname, '..', 'npm', 'node_modules');
const pkgDir = path.join(npmDir, '@octokit', 'openapi');
const outDir = path.join(__dirname, 'schemas');

// The endpoints shipyard calls on GitHub (forge/forge.c, forge/comment.c).
const ENDPOINTS = [
	{ method: 'post', path: '/repos/{owner}/{repo}/statuses/{sha}' },
	{ method: 'post', path: '/repos/{owner}/{repo}/issues/{issue_number}/comments' },
	{ method: 'patch', path: '/repos/{owner}/{repo}/issues/comments/{comment_id}' },
	{ method: 'post', path: '/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions' },
];

function resolve(doc, node, seen = new Set()) {
	if (Array.isArray(node))
		return node.map((n) => resolve(doc, n, seen));
	if (!node || typeof node !== 'object')
		return node;
	if (typeof node.$ref === 'string') {
		if (seen.has(node.$ref))
			throw new Error(`recursive $ref ${node.$ref}`);
		const target = node.$ref.replace(/^#\//, '').split('/')
			.reduce((o, k) => o[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
		return resolve(doc, target, new Set([...seen, node.$ref]));
	}
	const out = {};
	for (const [k, v] of Object.entries(node))
		out[k] = resolve(doc, v, seen);
	return out;
}

function main() {
	const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
	const doc = JSON.parse(fs.readFileSync(path.join(pkgDir, 'generated', 'api.github.com.json'), 'utf8'));
	fs.mkdirSync(outDir, { recursive: true });
	for (const ep of ENDPOINTS) {
		const op = doc.paths[ep.path] && doc.paths[ep.path][ep.method];
		if (!op)
			throw new Error(`${ep.method.toUpperCase()} ${ep.path}: not in api.github.com.json`);
		const schema = resolve(doc, op.requestBody.content['application/json'].schema);
		const out = {
			$comment: `Request body of ${ep.method.toUpperCase()} ${ep.path} (operationId ${op.operationId}), ` +
				`extracted by tests/fakeforge/extract-schemas.js from ${pkg.name} ${pkg.version} ` +
				`generated/api.github.com.json (OpenAPI ${doc.openapi}, MIT license).`,
			'x-endpoint': { method: ep.method.toUpperCase(), path: ep.path, operationId: op.operationId },
			...schema,
		};
		const file = path.join(outDir, op.operationId.replace(/\//g, '-') + '.json');
		fs.writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
		console.log(`wrote ${path.relative(process.cwd(), file)}`);
	}
}

main();

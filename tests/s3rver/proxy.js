// A proxy in front of s3rver for tests/integration/test_s3_publish.sh.
//
// s3rver checks the access key id of a Signature Version 4 request but not
// the signature, so this proxy checks it the way S3 does (canonical
// request, string to sign, signing key, and the body against
// x-amz-content-sha256), answers 403 SignatureDoesNotMatch when it is
// wrong, and forwards the rest unchanged. It also injects faults: the
// first N requests whose path ends with a given suffix get HTTP 500, 403
// AccessDenied or a closed connection. Every request is logged as "METHOD PATH STATUS" to
// the log file, so that a test can read the order of the uploads.
//
// usage: node proxy.js TARGET_PORT SECRET LOG [SUFFIX=N:500|403|reset]...
// Prints "proxy listening on PORT" when ready.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');

const [targetPort, secret, logFile, ...rules] = process.argv.slice(2);
const faults = rules.map(r => {
  const m = /^(.*)=(\d+):(500|403|reset)$/.exec(r);
  if (!m) throw new Error(`bad fault rule ${r}`);
  return { suffix: m[1], left: Number(m[2]), kind: m[3] };
});

function log(line) {
  fs.appendFileSync(logFile, line + '\n');
}

// Bytes of a percent-encoded string.
function decode(s) {
  const out = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(s.substr(i + 1, 2))) {
      out.push(parseInt(s.substr(i + 1, 2), 16));
      i += 2;
    } else {
      out.push(...Buffer.from(s[i], 'utf8'));
    }
  }
  return Buffer.from(out);
}

// RFC 3986 encoding, upper-case hex, as Signature Version 4 wants it.
function encode(bytes, keepSlash) {
  let s = '';
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) s += c;
    else s += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return s;
}

function hmac(key, data) {
  return crypto.createHmac('sha256', key).update(data).digest();
}

function sha256(data) {
  return crypto.createHash('sha256').update(data).digest('hex');
}

// Returns null when the request's signature is right, else why not.
function checkSignature(req, body) {
  const auth = req.headers.authorization;
  if (!auth) return null; // anonymous reads go to s3rver as they are
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return 'malformed Authorization header';
  const [, , date, region, service, signedHeaders, signature] = m;
  const amzDate = req.headers['x-amz-date'];
  const payload = req.headers['x-amz-content-sha256'];
  if (!amzDate || !amzDate.startsWith(date)) return 'x-amz-date missing or not of the scope';
  if (!payload) return 'x-amz-content-sha256 missing';
  if (payload !== 'UNSIGNED-PAYLOAD' && payload !== sha256(body))
    return 'XAmzContentSHA256Mismatch';
  const [rawPath, rawQuery = ''] = req.url.split(/\?(.*)/s);
  const path = encode(decode(rawPath), true);
  const query = rawQuery === '' ? '' : rawQuery.split('&').map(p => {
    const i = p.indexOf('=');
    const name = i < 0 ? p : p.slice(0, i);
    const value = i < 0 ? '' : p.slice(i + 1);
    return [encode(decode(name), false), encode(decode(value), false)];
  }).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : 1))
    .map(([n, v]) => `${n}=${v}`).join('&');
  const names = signedHeaders.split(';');
  if (!names.includes('host')) return 'host is not signed';
  const headers = names.map(n => {
    const v = req.headers[n];
    if (v === undefined) return null;
    return `${n}:${String(v).trim().replace(/\s+/g, ' ')}\n`;
  });
  if (headers.includes(null)) return 'a signed header is missing';
  const canonical = [req.method, path, query, headers.join(''), signedHeaders, payload].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  let key = hmac('AWS4' + secret, date);
  key = hmac(key, region);
  key = hmac(key, service);
  key = hmac(key, 'aws4_request');
  const expected = hmac(key, toSign).toString('hex');
  return expected === signature ? null : 'SignatureDoesNotMatch';
}

function s3Error(res, status, code, message) {
  res.writeHead(status, { 'Content-Type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code>` +
          `<Message>${message}</Message></Error>`);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', c => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const path = req.url.split('?')[0];
    const fault = faults.find(f => f.left > 0 && path.endsWith(f.suffix));
    if (fault) {
      fault.left--;
      log(`${req.method} ${req.url} ${fault.kind}`);
      if (fault.kind === 'reset') {
        req.socket.destroy();
        return;
      }
      if (fault.kind === '403')
        return s3Error(res, 403, 'AccessDenied', 'Access Denied');
      return s3Error(res, 500, 'InternalError', 'We encountered an internal error. Please try again.');
    }
    const why = checkSignature(req, body);
    if (why) {
      log(`${req.method} ${req.url} 403 ${why}`);
      if (why === 'XAmzContentSHA256Mismatch')
        return s3Error(res, 400, why, 'The provided x-amz-content-sha256 header does not match what was computed.');
      return s3Error(res, 403, 'SignatureDoesNotMatch',
                     `The request signature we calculated does not match the signature you provided (${why}).`);
    }
    const up = http.request({
      host: '127.0.0.1', port: Number(targetPort), method: req.method, path: req.url,
      headers: req.headers,
    }, upRes => {
      log(`${req.method} ${req.url} ${upRes.statusCode}`);
      res.writeHead(upRes.statusCode, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', e => s3Error(res, 502, 'BadGateway', e.message));
    up.end(body);
  });
});

server.listen(0, '127.0.0.1', () => {
  console.log(`proxy listening on ${server.address().port}`);
});

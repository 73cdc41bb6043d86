// tests/s3/proxy.js — loopback HTTP proxy between the S3 client under test
// and s3rver: logs every request (one JSON line each) and injects faults.
//
//   node proxy.js --target-port P [--port 0] [--log FILE] [--faults SPEC]
//                 [--seed N] [--stall-ms MS] [--port-file FILE]
//
// SPEC is a comma list of name=probability (0..1), applied per request in
// this order: drop (close the connection before answering), stall (accept
// the request and answer nothing; the client must time out), e500, e503
// (S3 error documents InternalError / SlowDown), midbody (GET responses:
// forward the headers and part of the body, then cut the connection).
// Faults are only injected on requests whose URL does not contain
// "nofault". Listens on 127.0.0.1 only; prints "proxy listening on PORT".
// SIGUSR1 toggles faults off/on (so a test can let a run catch up).
// --fail-range-byte N : every GET whose Range covers byte N (or that has no
// Range) of an object whose URL contains --fail-range-key SUBSTR (default:
// any) answers 500 InternalError while faults are on: a deterministic range
// that can never be read. Log lines carry the request's Range header.
// --mirror DIR --mirror-prefix /BUCKET/PATH/ : every successful PutObject
// under the prefix is also written (atomically, when S3 answered) to DIR in
// the file-replica layout ("0000/x.ltx" -> "ltx/0/x.ltx", v0.3 keys as
// they are), so bench_lag can time replication lag from the outside.
'use strict';
const http = require('http');
const fs = require('fs');

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf('--' + name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
};
const targetPort = parseInt(opt('target-port', '0'), 10);
const port = parseInt(opt('port', '0'), 10);
const logFile = opt('log', null);
const stallMs = parseInt(opt('stall-ms', '30000'), 10);
const portFile = opt('port-file', null);
let seed = parseInt(opt('seed', String(Date.now() % 1000003)), 10) >>> 0;
const faults = {};
for (const kv of (opt('faults', '') || '').split(',').filter(Boolean)) {
  const [k, v] = kv.split('=');
  faults[k] = parseFloat(v);
}
let faultsOn = true;
const mirror = opt('mirror', null);
const mirrorPrefix = opt('mirror-prefix', null);
const path = require('path');
function mirrorPath(url) {
  if (!mirror || !mirrorPrefix || url.includes('?') || !url.startsWith(mirrorPrefix)) return null;
  const key = decodeURIComponent(url.slice(mirrorPrefix.length));
  const m = /^([0-9a-f]{4})\/([^/]+\.ltx)$/.exec(key);
  const rel = m ? `ltx/${parseInt(m[1], 16)}/${m[2]}` : key;
  if (rel.split('/').some((s) => s === '..' || s === '')) return null;
  return path.join(mirror, rel);
}
process.on('SIGUSR1', () => { faultsOn = !faultsOn; });
const failByte = opt('fail-range-byte', null) === null ? null : parseInt(opt('fail-range-byte', '0'), 10);
const failKey = opt('fail-range-key', '');
function coversFailByte(req) {
  if (failByte === null || req.method !== 'GET' || req.url.includes('?') || !req.url.includes(failKey)) return false;
  const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range || 'bytes=0-');
  if (!m) return false;
  const a = parseInt(m[1], 10), b = m[2] === '' ? Infinity : parseInt(m[2], 10);
  return a <= failByte && failByte <= b;
}

// deterministic PRNG (mulberry32)
function rnd() {
  seed = (seed + 0x6D2B79F5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const logStream = logFile ? fs.createWriteStream(logFile, { flags: 'a' }) : null;
function log(rec) {
  if (logStream) logStream.write(JSON.stringify(rec) + '\n');
}

function classify(method, url) {
  const q = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
  const has = (k) => q.split('&').some((p) => p === k || p.startsWith(k + '='));
  if (method === 'GET' && has('list-type')) return 'LIST';
  if (method === 'GET' && has('location')) return 'LOCATION';
  if (method === 'PUT' && has('partNumber')) return 'PUT_PART';
  if (method === 'POST' && has('uploads')) return 'MPU_CREATE';
  if (method === 'POST' && has('uploadId')) return 'MPU_COMPLETE';
  if (method === 'DELETE' && has('uploadId')) return 'MPU_ABORT';
  if (method === 'POST' && has('delete')) return 'DELETE';
  return method;
}

function s3error(res, status, code) {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code>` +
    `<Message>injected by proxy</Message><RequestId>proxy</RequestId></Error>`;
  res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

const server = http.createServer((req, res) => {
  const t0 = Date.now();
  const op = classify(req.method, req.url);
  let fault = null;
  if (faultsOn && coversFailByte(req)) fault = 'e500';
  else if (faultsOn && !req.url.includes('nofault')) {
    for (const name of ['drop', 'stall', 'e500', 'e503', 'midbody']) {
      if (faults[name] && !(name === 'midbody' && req.method !== 'GET') && rnd() < faults[name]) {
        fault = name;
        break;
      }
    }
  }
  const rec = { t: t0, op, method: req.method, url: req.url, fault };
  if (req.headers.range) rec.range = req.headers.range;
  if (fault === 'drop') {
    log({ ...rec, status: 0 });
    req.socket.destroy();
    return;
  }
  if (fault === 'stall') {
    log({ ...rec, status: 0 });
    const timer = setTimeout(() => req.socket.destroy(), stallMs);
    req.socket.on('close', () => clearTimeout(timer));
    req.resume();
    return;
  }
  if (fault === 'e500' || fault === 'e503') {
    req.resume();
    req.on('end', () => {
      log({ ...rec, status: fault === 'e500' ? 500 : 503 });
      if (fault === 'e500') s3error(res, 500, 'InternalError');
      else s3error(res, 503, 'SlowDown');
    });
    return;
  }
  const mp = req.method === 'PUT' ? mirrorPath(req.url) : null;
  const chunks = [];
  if (mp) req.on('data', (c) => chunks.push(c));
  const up = http.request({
    host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers,
  }, (ures) => {
    log({ ...rec, status: ures.statusCode, ms: Date.now() - t0 });
    if (mp && ures.statusCode === 200) {
      fs.mkdirSync(path.dirname(mp), { recursive: true });
      fs.writeFileSync(mp + '.tmp', Buffer.concat(chunks));
      fs.renameSync(mp + '.tmp', mp);
    }
    res.writeHead(ures.statusCode, ures.headers);
    if (fault === 'midbody') {
      const len = parseInt(ures.headers['content-length'] || '0', 10);
      const cut = Math.floor(len * rnd());
      let sent = 0;
      ures.on('data', (chunk) => {
        if (sent >= cut) return;
        const part = chunk.slice(0, Math.max(0, cut - sent));
        sent += part.length;
        if (part.length) res.write(part);
        if (sent >= cut) { res.socket && res.socket.destroy(); ures.destroy(); }
      });
      ures.on('end', () => { res.socket && res.socket.destroy(); });
      return;
    }
    ures.pipe(res);
  });
  up.on('error', (e) => {
    log({ ...rec, status: 502, error: String(e) });
    if (!res.headersSent) s3error(res, 502, 'BadGateway');
    else res.destroy();
  });
  req.pipe(up);
});
server.keepAliveTimeout = 60000;
server.listen(port, '127.0.0.1', () => {
  const p = server.address().port;
  if (portFile) fs.writeFileSync(portFile, String(p));
  console.log(`proxy listening on ${p}`);
});
process.on('SIGTERM', () => { server.close(); process.exit(0); });

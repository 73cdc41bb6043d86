// tests/mcp/sdk_client.mjs — drives the litestream MCP server with the
// official TypeScript SDK client (@modelcontextprotocol/sdk).
//
//   node sdk_client.mjs MODE [options as KEY=VALUE ...]
//
// MODE:
//   tools      initialize (version V), list tools, call every tool, errors
//   restore    restore with progress notifications, check the result
//   cancel     start a restore, cancel it after the first progress
//              notification, check that no partial file is left
// Options: transport=stdio|http|sse, url=, bin=, config=, db=, replica=,
//   out=DIR (restore outputs), version=2025-11-25, token=, readonly=1
// Prints "ok - ..." / "not ok - ..." lines and "N passed, N failed"; exits 1
// on any failure.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import fs from 'node:fs';
import path from 'node:path';

const mode = process.argv[2];
const opt = {};
for (const a of process.argv.slice(3)) {
  const i = a.indexOf('=');
  opt[a.slice(0, i)] = a.slice(i + 1);
}
const version = opt.version || '2025-11-25';
const tag = `[${opt.transport} ${version}]`;
let passed = 0, failed = 0;
function ok(cond, what, extra) {
  if (cond) { passed++; console.log(`ok - ${tag} ${what}`); }
  else { failed++; console.log(`not ok - ${tag} ${what}${extra ? ': ' + extra : ''}`); }
  return cond;
}

function makeTransport() {
  const headers = opt.token ? { Authorization: `Bearer ${opt.token}` } : {};
  let t;
  if (opt.transport === 'stdio') {
    const args = ['mcp', '-config', opt.config];
    if (opt.readonly) args.push('-read-only');
    t = new StdioClientTransport({ command: opt.bin, args, env: { ...process.env }, stderr: 'pipe' });
  } else if (opt.transport === 'http') {
    t = new StreamableHTTPClientTransport(new URL(opt.url), { requestInit: { headers } });
  } else if (opt.transport === 'sse') {
    t = new SSEClientTransport(new URL(opt.url), {
      requestInit: { headers },
      eventSourceInit: { fetch: (u, init) => fetch(u, { ...init, headers: { ...(init?.headers || {}), ...headers } }) },
    });
  } else throw new Error('unknown transport ' + opt.transport);
  // Ask for the protocol version under test (the SDK always sends its newest).
  const send = t.send.bind(t);
  t.send = (msg, o) => {
    if (msg.method === 'initialize') msg.params.protocolVersion = version;
    return send(msg, o);
  };
  return t;
}

async function connect() {
  const client = new Client({ name: 'litestream-test', version: '1.0.0' }, { capabilities: {} });
  let negotiated;
  const t = makeTransport();
  const onmsg = () => {};
  void onmsg;
  await client.connect(t);
  negotiated = t.protocolVersion ?? version;
  return { client, t, negotiated };
}

const structured = version >= '2025-06-18';
function parseResult(res) {
  const text = res.content?.[0]?.text ?? '';
  let j = null;
  try { j = JSON.parse(text); } catch { /* error text */ }
  return j;
}
async function call(client, name, args, what) {
  const res = await client.callTool({ name, arguments: args }, undefined, { timeout: 120000 });
  const j = parseResult(res);
  if (!res.isError && structured) {
    ok(res.structuredContent && JSON.stringify(res.structuredContent) === JSON.stringify(j),
      `${what}: structuredContent equals the text content`);
  }
  if (!res.isError && !structured) ok(res.structuredContent === undefined, `${what}: no structuredContent before 2025-06-18`);
  return { res, j };
}
async function expectRpcError(p, code, what) {
  try {
    const r = await p;
    ok(false, what, 'no error, got ' + JSON.stringify(r).slice(0, 200));
  } catch (e) {
    ok(e.code === code, what, `code ${e.code} ${e.message}`);
  }
}

async function modeTools() {
  const { client } = await connect();
  ok(client.getServerVersion()?.name === 'Litestream MCP Server', 'serverInfo.name');
  ok(client.getServerCapabilities()?.tools !== undefined, 'tools capability');
  await client.ping();
  ok(true, 'ping');
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name).sort();
  const all = ['litestream_databases', 'litestream_generations', 'litestream_info', 'litestream_ltx',
    'litestream_reset', 'litestream_restore', 'litestream_snapshots', 'litestream_status', 'litestream_version'];
  const want = opt.readonly ? all.filter((n) => n !== 'litestream_restore' && n !== 'litestream_reset') : all;
  ok(JSON.stringify(names) === JSON.stringify(want), 'tools/list names', names.join(','));
  ok(tools.every((t) => t.inputSchema?.type === 'object' && t.description), 'every tool has an object inputSchema and a description');
  if (structured) ok(tools.every((t) => t.outputSchema?.type === 'object'), 'outputSchema on every tool (2025-06-18+)');
  else ok(tools.every((t) => t.outputSchema === undefined), 'no outputSchema before 2025-06-18');
  if (version >= '2025-03-26') {
    const ro = tools.filter((t) => t.name !== 'litestream_restore' && t.name !== 'litestream_reset');
    ok(ro.every((t) => t.annotations?.readOnlyHint === true), 'read-only tools say readOnlyHint');
    const rs = tools.find((t) => t.name === 'litestream_restore');
    if (rs) ok(rs.annotations?.readOnlyHint === false && rs.annotations?.destructiveHint === true, 'restore is destructive');
  } else {
    ok(tools.every((t) => t.annotations === undefined), 'no annotations in 2024-11-05');
  }

  let r = await call(client, 'litestream_version', {}, 'version');
  ok(typeof r.j?.version === 'string' && r.j.version.length > 0, 'litestream_version returns version');
  r = await call(client, 'litestream_info', {}, 'info');
  ok(typeof r.j?.version === 'string' && typeof r.j?.config_path === 'string' && r.j?.databases >= 1, 'litestream_info: version, config_path, databases', JSON.stringify(r.j));
  ok(typeof r.j?.read_only === 'boolean' && typeof r.j?.uptime_seconds === 'number' && 'mcp_addr' in r.j, 'litestream_info: read_only, uptime, mcp_addr');
  r = await call(client, 'litestream_databases', {}, 'databases');
  const db = r.j?.databases?.find((d) => d.path === opt.db);
  ok(!!db, 'litestream_databases lists the database', JSON.stringify(r.j).slice(0, 300));
  ok(db && db.replica?.type === 'file' && db.replica?.url?.startsWith('file://') && ['syncing', 'idle', 'error', 'stopped'].includes(db.replica?.status), 'databases: replica{type,url,status}');
  ok(db && Array.isArray(db.replicas) && db.replicas[0]?.name && db.replicas[0]?.type && db.replicas[0]?.url, 'databases: replicas[]{name,type,url}');
  ok(db && /^[0-9a-f]{16}$/.test(db.local_txid) && /^[0-9a-f]{16}$/.test(db.remote_txid), 'databases: local/remote TXIDs as 16-digit hex');
  ok(db && typeof db.replication_lag?.txids === 'number' && 'last_sync_at' in db, 'databases: lag and last sync time');
  r = await call(client, 'litestream_status', { path: opt.db }, 'status');
  ok(r.j?.databases?.length === 1 && r.j.databases[0].path === opt.db, 'litestream_status filters by path');
  r = await client.callTool({ name: 'litestream_status', arguments: { path: '/nonexistent/x.db' } });
  ok(r.isError === true && /not found in config/.test(r.content[0].text), 'status of an unknown database is a tool error');

  r = await call(client, 'litestream_ltx', { path: opt.db }, 'ltx');
  ok(Array.isArray(r.j?.files) && r.j.files.length > 0, 'litestream_ltx lists files', JSON.stringify(r.j).slice(0, 200));
  const f = r.j?.files?.[0];
  ok(f && typeof f.level === 'number' && /^[0-9a-f]{16}$/.test(f.min_txid) && /^[0-9a-f]{16}$/.test(f.max_txid) && typeof f.size === 'number' && typeof f.created_at === 'string', 'ltx entries: level, min_txid, max_txid, size, created_at');
  ok(Array.isArray(r.j?.ltx_files) && r.j.ltx_files.length === r.j.files.length, 'ltx: ltx_files mirrors files');
  const r2 = await call(client, 'litestream_ltx', { database: opt.db, level: 0, limit: 1 }, 'ltx database/level/limit');
  ok(r2.j?.files?.length === 1 && r2.j.files[0].level === 0, 'ltx accepts database, level and limit');
  const r3 = await call(client, 'litestream_ltx', { path: opt.replica }, 'ltx by URL');
  ok(r3.j?.files?.length === r.j?.files?.length, 'ltx by replica URL lists the same files');

  r = await call(client, 'litestream_snapshots', { database: opt.db }, 'snapshots');
  ok(Array.isArray(r.j?.snapshots), 'litestream_snapshots returns snapshots[]');
  if (r.j?.snapshots?.length) {
    const s = r.j.snapshots[0];
    ok(/^[0-9a-f]{16}$/.test(s.txid) && typeof s.size === 'number' && typeof s.created_at === 'string', 'snapshot entries: txid, size, created_at');
  }
  r = await call(client, 'litestream_generations', { path: opt.db }, 'generations');
  ok(Array.isArray(r.j?.generations) && r.j.generations.length === 0 && typeof r.j.note === 'string', 'generations: empty list with a note for v0.5');

  if (!opt.readonly) {
    const out = path.join(opt.out, `dry-${opt.transport}-${version}.db`);
    r = await call(client, 'litestream_restore', { path: opt.db, o: out, dry_run: true }, 'restore dry-run');
    ok(r.j?.dry_run === true && r.j.files?.length > 0 && !fs.existsSync(out), 'restore dry_run shows the plan and writes nothing');
    r = await call(client, 'litestream_reset', { path: opt.db, dry_run: true }, 'reset dry-run');
    ok(r.res.isError || r.j?.status === 'dry_run' || r.j?.status === 'no_state', 'reset dry_run', JSON.stringify(r.res).slice(0, 300));
    const rr = await client.callTool({ name: 'litestream_restore', arguments: { path: opt.db, o: '/etc/../tmp/x.db' } });
    ok(rr.isError === true && /\.\./.test(rr.content[0].text), 'restore refuses ".." in o');
    const re = await client.callTool({ name: 'litestream_restore', arguments: { path: opt.db, o: opt.config, force: false } });
    ok(re.isError === true && /already exists/.test(re.content[0].text), 'restore refuses an existing output without force', re.content[0].text);
    const rt = await client.callTool({ name: 'litestream_restore', arguments: { path: opt.db, o: path.join(opt.out, 'ts.db'), timestamp: '2000-01-01T00:00:00Z' } });
    ok(rt.isError === true && /before the first backup/.test(rt.content[0].text), 'timestamp before the first backup says so', rt.content[0].text);
  } else {
    await expectRpcError(client.callTool({ name: 'litestream_restore', arguments: { path: opt.db } }), -32602, 'read-only: restore is not callable');
  }
  await expectRpcError(client.callTool({ name: 'litestream_nope', arguments: {} }), -32602, 'unknown tool -> -32602');
  await expectRpcError(client.callTool({ name: 'litestream_ltx', arguments: { path: 5 } }), -32602, 'wrong argument type -> -32602');
  await expectRpcError(client.callTool({ name: 'litestream_ltx', arguments: { path: opt.db, bogus: 1 } }), -32602, 'unknown argument -> -32602');
  await expectRpcError(client.callTool({ name: 'litestream_ltx', arguments: {} }), -32602, 'missing path -> -32602');
  await expectRpcError(client.request({ method: 'resources/list', params: {} }, (await import('@modelcontextprotocol/sdk/types.js')).ListResourcesResultSchema), -32601, 'unknown method -> -32601');
  await client.close();
}

async function modeRestore() {
  const { client } = await connect();
  const out = path.join(opt.out, `restored-${opt.transport}-${version}.db`);
  let progress = [];
  const res = await client.callTool({ name: 'litestream_restore', arguments: { database: opt.db, output: out } }, undefined, {
    timeout: 300000,
    onprogress: (p) => progress.push(p),
  });
  const j = parseResult(res);
  ok(!res.isError, 'restore succeeds', res.content?.[0]?.text);
  ok(j?.restored_path === out && /^[0-9a-f]{16}$/.test(j?.txid) && j?.size > 0, 'restore result: restored_path, txid, size', JSON.stringify(j));
  ok(typeof j?.duration_ms === 'number' && j?.integrity_check === 'ok', 'restore result: duration and integrity check');
  ok(fs.existsSync(out) && fs.statSync(out).size === j?.size, 'restored file exists with the reported size');
  ok(progress.length >= 1, `progress notifications received (${progress.length})`);
  ok(progress.every((p, i) => i === 0 || p.progress > progress[i - 1].progress), 'progress increases');
  if (structured) ok(JSON.stringify(res.structuredContent) === JSON.stringify(j), 'structuredContent matches text');
  const again = await client.callTool({ name: 'litestream_restore', arguments: { path: opt.db, o: out } });
  ok(again.isError === true && /already exists/.test(again.content[0].text), 'second restore to the same path refuses', again.content?.[0]?.text);
  const forced = await client.callTool({ name: 'litestream_restore', arguments: { path: opt.db, o: out, force: true } }, undefined, { timeout: 300000 });
  ok(!forced.isError, 'restore with force replaces the output');
  fs.writeFileSync(path.join(opt.out, 'restore-result.json'), JSON.stringify(j));
  await client.close();
}

async function modeCancel() {
  const { client } = await connect();
  const out = path.join(opt.out, `cancelled-${opt.transport}-${version}.db`);
  const ac = new AbortController();
  let seen = 0;
  const started = Date.now();
  const p = client.callTool({ name: 'litestream_restore', arguments: { path: opt.db, o: out } }, undefined, {
    timeout: 300000,
    signal: ac.signal,
    onprogress: (pr) => {
      seen++;
      if (pr.progress > 0 && (!pr.total || pr.progress < pr.total)) ac.abort('test cancels half way');
    },
  });
  let err = null;
  try { await p; } catch (e) { err = e; }
  ok(err !== null, 'cancelled call rejects on the client', err?.message);
  ok(seen >= 1, `progress seen before cancelling (${seen})`);
  // The server must stop and leave nothing behind.
  let clean = false;
  for (let i = 0; i < 100 && !clean; i++) {
    await new Promise((r) => setTimeout(r, 100));
    clean = !fs.existsSync(out) && !fs.existsSync(out + '.tmp') && !fs.existsSync(out + '.tmp-fetch');
  }
  ok(clean, 'no partial output after cancellation');
  // The server is still serving.
  const v = await client.callTool({ name: 'litestream_version', arguments: {} });
  ok(!v.isError, 'server answers after the cancellation');
  console.log(`# cancel took ${Date.now() - started} ms`);
  await client.close();
}

try {
  if (mode === 'tools') await modeTools();
  else if (mode === 'restore') await modeRestore();
  else if (mode === 'cancel') await modeCancel();
  else throw new Error('unknown mode ' + mode);
} catch (e) {
  ok(false, `${mode} ran without exception`, e?.stack || String(e));
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

// load.mjs - the load and the checks of `make soak` (scripts/soak/run.sh). Plain node:http,
// keep-alive. Usage: node load.mjs CONFIG_JSON, where CONFIG_JSON holds
//   url, token (read-write), vault (title), titles (file, one title a line: "item <i>"),
//   filesDir (DIR/<i>/<name>: the attachments item i was created with), pids {hub, sync,
//   api}, seconds, warmupSeconds, conc, readRps (0: unthrottled), writesPerS,
//   sampleSeconds, maxGrowthPct, csv (path), summary (path of the JSON summary).
//
// 1. Preflight: resolves the vault, lists its items (exactly one per title), reads every
//    item (its version and its "soak" field) and every attachment (retrying the 500 a file
//    not fetched yet by sync gets, for at most 120 s).
// 2. For `seconds`: `conc` readers poll like the Kubernetes operator / External Secrets -
//    vault by title, items by title, the item, its files and every file's content - over
//    all items, paced to `readRps` requests per second in total; every answer is checked:
//    the right item (id, title, vault, username), the exact file bytes, and versions that
//    never go back (a request started after an answer showed version V sees >= V). One
//    writer changes the "soak" field at `writesPerS`: PATCH, PUT with the current version,
//    and every fifth write a PUT with a stale version that must get 409 and change nothing;
//    each write is read back (read-your-writes, version + 1). VmRSS of hub, sync and api
//    goes to the CSV every `sampleSeconds`.
// 3. Every (item, version) any reader saw must carry the marker the writer wrote for that
//    version; RSS growth from the end of the warm-up to the end stays under maxGrowthPct.
// Prints a summary table; exit status 1 when a check fails.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const cfg = JSON.parse(process.argv[2]);
const base = new URL(cfg.url);
const readAgent = new http.Agent({ keepAlive: true, maxSockets: cfg.conc });
const writeAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const q = (s) => encodeURIComponent(s);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();

// ---- requests -------------------------------------------------------------------------
const counts = { vault: 0, list: 0, item: 0, files: 0, content: 0, write: 0, writeGet: 0 };
const errors = { total: 0, byKind: {}, first: [] };
function fail(kind, msg) {
  errors.total++;
  errors.byKind[kind] = (errors.byKind[kind] || 0) + 1;
  if (errors.first.length < 20) errors.first.push(`${kind}: ${msg}`);
}

function request(agent, method, p, body) {
  return new Promise((resolve) => {
    const t0 = now();
    const headers = { authorization: `Bearer ${cfg.token}` };
    let data = null;
    if (body !== undefined) {
      data = Buffer.from(JSON.stringify(body));
      headers['content-type'] = 'application/json';
      headers['content-length'] = data.length;
    }
    const r = http.request({ host: base.hostname, port: base.port, method, path: p, agent, headers },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
          raw: Buffer.concat(chunks), t0, t1: now() }));
        res.on('error', (e) => resolve({ status: 0, err: String(e), raw: Buffer.alloc(0), t0, t1: now() }));
      });
    r.setTimeout(30000, () => r.destroy(new Error('no answer within 30 s')));
    r.on('error', (e) => resolve({ status: 0, err: String(e), raw: Buffer.alloc(0), t0, t1: now() }));
    if (data) r.write(data);
    r.end();
  });
}
function json(res) {
  try { return JSON.parse(res.raw.toString()); } catch { return undefined; }
}
// get KIND PATH: a read on the readers' connections; undefined (and an error recorded)
// unless 200 with a JSON body.
async function get(kind, p, agent = readAgent) {
  const res = await request(agent, 'GET', p);
  counts[kind]++;
  if (res.status !== 200) {
    fail(kind, `GET ${p}: ${res.status ? `HTTP ${res.status} ${res.raw.toString().slice(0, 200)}` : res.err}`);
    return undefined;
  }
  const body = kind === 'content' ? res.raw : json(res);
  if (body === undefined) fail(kind, `GET ${p}: the body is not JSON`);
  return body === undefined ? undefined : { body, res };
}

// A global pace for the readers: one request every 1000/readRps ms, at most.
let nextSlot = now();
async function pace() {
  if (!cfg.readRps) return;
  const t = now(), slot = Math.max(nextSlot, t);
  nextSlot = slot + 1000 / cfg.readRps;
  if (slot > t) await sleep(slot - t);
}

// ---- what the data must be ------------------------------------------------------------
const titles = fs.readFileSync(cfg.titles, 'utf8').split('\n').filter(Boolean);
const items = titles.map((title) => {
  const i = Number(/^item (\d+)$/.exec(title)[1]);
  const dir = path.join(cfg.filesDir, String(i));
  const files = fs.existsSync(dir)
    ? fs.readdirSync(dir).sort().map((name) => ({ name, bytes: fs.readFileSync(path.join(dir, name)) }))
    : [];
  return { i, title, id: null, soakField: null, files };
});
const byId = new Map();
const expected = new Map(); // id -> Map(version -> marker): what the writer wrote
const observed = new Map(); // id -> Map(version -> marker): what the readers saw
const seen = { list: new Map(), item: new Map() }; // id -> {version, at}: newest version seen
let versionRegressions = 0, markerMismatches = 0, expected409 = 0;

// observeVersion KIND ID VERSION T0: a request started at T0 must not see a version older
// than one an answer that ended before T0 showed.
function observeVersion(kind, id, version, t0, t1) {
  const s = seen[kind].get(id);
  if (s && t0 > s.at && version < s.version) {
    versionRegressions++;
    fail(kind, `${id}: version ${version} after version ${s.version} was served`);
  }
  if (!s || version > s.version) seen[kind].set(id, { version, at: t1 });
}
function observeMarker(id, version, marker) {
  let m = observed.get(id);
  if (!m) observed.set(id, (m = new Map()));
  const was = m.get(version);
  if (was !== undefined && was !== marker) {
    markerMismatches++;
    fail('item', `${id} version ${version}: soak field ${marker}, earlier ${was}`);
  }
  if (was === undefined) m.set(version, marker);
}
function soakOf(body) {
  const f = (body.fields || []).find((x) => x.label === 'soak');
  return f ? { id: f.id, value: f.value } : null;
}

// checkItem: the FullItem is item `it` of the vault, with its username; records its
// version and soak marker.
function checkItem(it, vaultId, got, kind) {
  const b = got.body;
  const user = (b.fields || []).find((x) => x.id === 'username' || x.purpose === 'USERNAME');
  const soak = soakOf(b);
  if (b.id !== it.id || b.title !== it.title || !b.vault || b.vault.id !== vaultId ||
      !user || user.value !== `user${it.i}` || !soak || typeof b.version !== 'number') {
    fail(kind, `item ${it.title}: wrong item ${JSON.stringify(b).slice(0, 300)}`);
    return null;
  }
  observeVersion('item', it.id, b.version, got.res.t0, got.res.t1);
  observeMarker(it.id, b.version, soak.value);
  return { version: b.version, soak };
}

// checkFiles: the item's files are exactly the expected names, with the expected bytes.
async function checkFiles(it, vaultId, paced) {
  if (!it.files.length) return true;
  if (paced) await pace();
  const l = await get('files', `/v1/vaults/${vaultId}/items/${it.id}/files`);
  if (!l) return false;
  const names = Array.isArray(l.body) ? l.body.map((f) => f.name).sort() : [];
  if (names.join('\n') !== it.files.map((f) => f.name).join('\n')) {
    fail('files', `${it.title}: files [${names}] instead of [${it.files.map((f) => f.name)}]`);
    return false;
  }
  let good = true;
  for (const f of l.body) {
    if (paced) await pace();
    const c = await get('content', `/v1/vaults/${vaultId}/items/${it.id}/files/${f.id}/content`);
    if (!c) { good = false; continue; }
    const want = it.files.find((x) => x.name === f.name).bytes;
    if (!c.body.equals(want)) {
      fail('content', `${it.title}/${f.name}: ${c.body.length} bytes that are not the file's ${want.length}`);
      good = false;
    } else if (c.res.headers['content-type'] !== 'application/octet-stream') {
      fail('content', `${it.title}/${f.name}: content-type ${c.res.headers['content-type']}`);
      good = false;
    }
  }
  return good;
}

// ---- preflight --------------------------------------------------------------------------
const vq = `/v1/vaults?filter=${q(`title eq "${cfg.vault}"`)}`;
const v = await get('vault', vq);
if (!v || !Array.isArray(v.body) || v.body.length !== 1) {
  console.error(`soak: the vault ${cfg.vault} is not listed: ${errors.first.join('; ')}`);
  process.exit(1);
}
const vaultId = v.body[0].id;
const all = await get('list', `/v1/vaults/${vaultId}/items`);
const byTitle = new Map();
for (const s of all ? all.body : []) {
  if (byTitle.has(s.title)) fail('list', `two items titled ${s.title}`);
  byTitle.set(s.title, s);
}
for (const it of items) {
  const s = byTitle.get(it.title);
  if (!s) { fail('list', `${it.title} is not listed`); continue; }
  it.id = s.id;
  byId.set(it.id, it);
}
if (byTitle.size !== items.length) fail('list', `${byTitle.size} items listed, ${items.length} created`);
if (errors.total) {
  console.error(`soak: preflight: ${errors.first.join('; ')}`);
  process.exit(1);
}
const preflightStart = Date.now();
async function preflightItem(it) {
  const g = await get('item', `/v1/vaults/${vaultId}/items/${it.id}`);
  if (!g) return;
  const c = checkItem(it, vaultId, g, 'item');
  if (!c) return;
  it.soakField = c.soak.id;
  expected.set(it.id, new Map([[c.version, c.soak.value]]));
  // a file whose content sync has not fetched yet answers 500: retry for at most 120 s
  for (;;) {
    const before = errors.total, first = errors.first.length, kinds = { ...errors.byKind };
    if (await checkFiles(it, vaultId, false)) return;
    if (Date.now() - preflightStart > 120000) return;
    errors.total = before;
    errors.first.length = first;
    errors.byKind = kinds;
    await sleep(500);
  }
}
for (let k = 0; k < items.length; k += 4) await Promise.all(items.slice(k, k + 4).map(preflightItem));
if (errors.total) {
  console.error(`soak: preflight: ${errors.first.join('; ')}`);
  process.exit(1);
}
const preflightCounts = { ...counts };
for (const k of Object.keys(counts)) counts[k] = 0;
console.log(`soak: preflight: ${items.length} items and ${items.reduce((n, it) => n + it.files.length, 0)} files read and correct`);

// ---- the run ----------------------------------------------------------------------------
const t0 = Date.now();
const stopAt = t0 + cfg.seconds * 1000;
const requests = () => Object.values(counts).reduce((a, b) => a + b, 0);
let writes = 0;

function rssKiB(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  } catch {
    return null;
  }
}
const procs = ['hub', 'sync', 'api'];
const samples = [];
fs.writeFileSync(cfg.csv, 'elapsed_s,hub_rss_kib,sync_rss_kib,api_rss_kib,requests,writes,errors\n');
function sample() {
  const row = { t: Math.round((Date.now() - t0) / 1000) };
  for (const p of procs) {
    row[p] = rssKiB(cfg.pids[p]);
    if (row[p] === null) fail('process', `${p} (pid ${cfg.pids[p]}) is gone`);
  }
  row.requests = requests();
  row.writes = writes;
  row.errors = errors.total;
  samples.push(row);
  fs.appendFileSync(cfg.csv, `${row.t},${row.hub},${row.sync},${row.api},${row.requests},${row.writes},${row.errors}\n`);
  return row;
}
sample();
const sampler = setInterval(() => {
  const r = sample();
  if (r.t % 60 < cfg.sampleSeconds) {
    console.log(`soak: ${r.t} s: ${r.requests} requests (${Math.round(r.requests / Math.max(1, r.t))}/s), ` +
      `${r.writes} writes, ${r.errors} errors; RSS MiB hub ${(r.hub / 1024).toFixed(1)} ` +
      `sync ${(r.sync / 1024).toFixed(1)} api ${(r.api / 1024).toFixed(1)}`);
  }
}, cfg.sampleSeconds * 1000);

async function reader(w) {
  for (let k = Math.floor((w * items.length) / cfg.conc); Date.now() < stopAt; k++) {
    const it = items[k % items.length];
    await pace();
    const vv = await get('vault', vq);
    if (vv && (!Array.isArray(vv.body) || vv.body.length !== 1 || vv.body[0].id !== vaultId))
      fail('vault', `vault by title: ${JSON.stringify(vv.body).slice(0, 200)}`);
    await pace();
    const l = await get('list', `/v1/vaults/${vaultId}/items?filter=${q(`title eq "${it.title}"`)}`);
    if (l) {
      const s = Array.isArray(l.body) && l.body.length === 1 ? l.body[0] : null;
      if (!s || s.id !== it.id || s.title !== it.title || !s.vault || s.vault.id !== vaultId)
        fail('list', `items by title ${it.title}: ${JSON.stringify(l.body).slice(0, 300)}`);
      else observeVersion('list', it.id, s.version, l.res.t0, l.res.t1);
    }
    await pace();
    const g = await get('item', `/v1/vaults/${vaultId}/items/${it.id}`);
    if (g) checkItem(it, vaultId, g, 'item');
    await checkFiles(it, vaultId, true);
  }
}

// writer: one write every 1000/writesPerS ms on items without files (half on 20 hot items,
// so their versions grow deep, half round-robin over all).
async function writer() {
  if (!cfg.writesPerS) return;
  const writable = items.filter((it) => !it.files.length && it.soakField);
  const hot = writable.slice(0, 20);
  const path1 = (it) => `/v1/vaults/${vaultId}/items/${it.id}`;
  for (let k = 0; Date.now() < stopAt; k++) {
    const due = t0 + (k * 1000) / cfg.writesPerS;
    if (due > Date.now()) await sleep(due - Date.now());
    if (Date.now() >= stopAt) break;
    const it = k % 2 ? writable[Math.floor(k / 2) % writable.length] : hot[Math.floor(k / 2) % hot.length];
    const before = await get('writeGet', path1(it), writeAgent);
    if (!before) continue;
    const b = checkItem(it, vaultId, before, 'writeGet');
    if (!b) continue;
    const marker = `w${k}`;
    const op = k % 5;
    let res;
    if (op === 4) {
      // a PUT based on a version that is not the current one: 409, nothing written
      const body = before.body;
      body.version = b.version > 1 ? b.version - 1 : b.version + 1;
      body.fields.find((f) => f.id === it.soakField).value = marker;
      res = await request(writeAgent, 'PUT', path1(it), body);
      counts.write++;
      const e = json(res);
      if (res.status !== 409 || !e || e.status !== 409 || typeof e.message !== 'string') {
        fail('write', `stale PUT ${it.title}: HTTP ${res.status} ${res.raw.toString().slice(0, 200)}`);
        continue;
      }
      expected409++;
      const after = await get('writeGet', path1(it), writeAgent);
      const a = after && checkItem(it, vaultId, after, 'writeGet');
      if (a && (a.version !== b.version || a.soak.value !== b.soak.value))
        fail('write', `stale PUT ${it.title} changed the item: version ${b.version} -> ${a.version}`);
      continue;
    }
    let want;
    if (op < 2) {
      res = await request(writeAgent, 'PATCH', path1(it),
        [{ op: 'replace', path: `/fields/${it.soakField}/value`, value: marker }]);
      want = b.version + 1; // PATCH answers the new version
    } else {
      const body = before.body;
      body.version = b.version;
      body.fields.find((f) => f.id === it.soakField).value = marker;
      res = await request(writeAgent, 'PUT', path1(it), body);
      want = b.version; // PUT answers the version before the update (Connect's way)
    }
    counts.write++;
    const w = json(res);
    if (res.status !== 200 || !w || w.version !== want || soakOf(w)?.value !== marker) {
      fail('write', `${op < 2 ? 'PATCH' : 'PUT'} ${it.title}: HTTP ${res.status} ${res.raw.toString().slice(0, 200)}`);
      continue;
    }
    writes++;
    expected.get(it.id).set(b.version + 1, marker);
    const after = await get('writeGet', path1(it), writeAgent);
    const a = after && checkItem(it, vaultId, after, 'writeGet');
    if (a && (a.version !== b.version + 1 || a.soak.value !== marker))
      fail('write', `read after write ${it.title}: version ${a.version} ${a.soak.value}, wrote ${b.version + 1} ${marker}`);
  }
}

await Promise.all([...Array.from({ length: cfg.conc }, (_, w) => reader(w)), writer()]);
clearInterval(sampler);
const elapsed = (Date.now() - t0) / 1000;
const last = sample();

// ---- checks -----------------------------------------------------------------------------
let unknownVersions = 0;
for (const [id, m] of observed) {
  const e = expected.get(id) || new Map();
  for (const [version, marker] of m) {
    if (!e.has(version)) {
      unknownVersions++;
      fail('data', `${byId.get(id)?.title} version ${version} (${marker}) was never written`);
    } else if (e.get(version) !== marker) {
      markerMismatches++;
      fail('data', `${byId.get(id)?.title} version ${version}: served ${marker}, written ${e.get(version)}`);
    }
  }
}
const median = (a) => { const s = a.filter((x) => x !== null).sort((x, y) => x - y); return s.length ? s[Math.floor(s.length / 2)] : null; };
// RSS after the warm-up: the median of the samples of the two minutes after its end; at the
// end: the median of the samples of the last two minutes. The servers give free heap back
// every minute (HTTP_TRIM_INTERVAL_MS), so RSS is a saw-tooth of about 1 MiB: a window of
// two periods compares like with like, where a single sample could catch a peak or a trough.
const WINDOW_S = 120;
const lastT = samples.length ? samples[samples.length - 1].t : 0;
const warm = samples.filter((s) => s.t >= cfg.warmupSeconds && s.t < cfg.warmupSeconds + WINDOW_S);
const tail = samples.filter((s) => s.t > lastT - WINDOW_S);
const rss = {};
let rssOk = true;
for (const p of procs) {
  const r = {
    start: samples[0][p], warm: median(warm.map((s) => s[p])), end: median(tail.map((s) => s[p])),
    max: Math.max(...samples.map((s) => s[p] ?? 0)),
  };
  r.growthPct = r.warm && r.end ? Math.round(((r.end - r.warm) / r.warm) * 1000) / 10 : null;
  r.ok = r.growthPct !== null && r.growthPct < cfg.maxGrowthPct;
  if (!r.ok) rssOk = false;
  rss[p] = r;
}
const reads = counts.vault + counts.list + counts.item + counts.files + counts.content;
const checks = [
  ['every answer was the expected one (no error but the expected 409s)', errors.total === 0, `${errors.total} errors`],
  ['every version served was written, with its data', unknownVersions + markerMismatches === 0,
    `${unknownVersions} unknown versions, ${markerMismatches} mismatches`],
  ['no version went back', versionRegressions === 0, `${versionRegressions} regressions`],
  ['writes went through', writes > 0 || cfg.writesPerS === 0, `${writes} writes, ${expected409} expected 409s`],
  [`RSS growth after the warm-up < ${cfg.maxGrowthPct} % (hub, sync, api)`, rssOk,
    procs.map((p) => `${p} ${rss[p].growthPct} %`).join(', ')],
];
const mib = (k) => (k === null ? '-' : (k / 1024).toFixed(1));
const pad = (s, n) => String(s).padEnd(n);
console.log('');
console.log(`soak: ${Math.round(elapsed)} s, ${items.length} items, ${cfg.conc} readers, ` +
  `${reads} reads (${Math.round(reads / elapsed)}/s), ${counts.write} writes (${writes} applied, ` +
  `${expected409} expected 409), ${counts.writeGet} read-backs`);
console.log(`      reads: ${counts.vault} vault by title, ${counts.list} items by title, ${counts.item} items, ` +
  `${counts.files} file lists, ${counts.content} file contents`);
console.log('');
console.log(`| process | RSS start MiB | after warm-up (${cfg.warmupSeconds} s) MiB | end MiB | max MiB | growth | check |`);
console.log('|---|---|---|---|---|---|---|');
for (const p of procs) {
  const r = rss[p];
  console.log(`| ${p} | ${mib(r.start)} | ${mib(r.warm)} | ${mib(r.end)} | ${mib(r.max)} | ${r.growthPct} % | ${r.ok ? 'ok' : 'FAIL'} |`);
}
console.log('');
for (const [name, good, detail] of checks) console.log(`${good ? 'ok  ' : 'FAIL'} ${pad(name, 72)} ${detail}`);
if (errors.first.length) {
  console.log('first errors:');
  for (const e of errors.first) console.log(`  ${e}`);
}
const pass = checks.every((c) => c[1]);
fs.writeFileSync(cfg.summary, JSON.stringify({
  pass, seconds: elapsed, items: items.length, conc: cfg.conc, readRps: cfg.readRps, writesPerS: cfg.writesPerS,
  warmupSeconds: cfg.warmupSeconds, preflight: preflightCounts, counts, reads, writes, expected409,
  errors, versionRegressions, unknownVersions, markerMismatches, rss, last,
}, null, 2) + '\n');
readAgent.destroy();
writeAgent.destroy();
process.exit(pass ? 0 : 1);

// report.mjs - the last step of `make bench`: reads the figures scripts/bench/run.sh left in
// OUTDIR/raw (wrk's BENCH_JSON lines, the Node scripts' JSON, meta.json), marks every target
// of issue 10 met / not met, prints the markdown and writes it to OUTDIR/results.md (and all
// figures to OUTDIR/results.json).
// Usage: node report.mjs OUTDIR
import fs from 'node:fs';
import path from 'node:path';

const outdir = process.argv[2];
const raw = (name) => {
  try {
    return JSON.parse(fs.readFileSync(path.join(outdir, 'raw', `${name}.json`), 'utf8'));
  } catch {
    return null;
  }
};
const cmd = (name) => {
  try {
    return fs.readFileSync(path.join(outdir, 'raw', `${name}.cmd`), 'utf8').trim();
  } catch {
    return null;
  }
};
const meta = raw('meta');
const k = meta.knobs;
const r = {};
for (const n of ['populate', 'cold', 'rss-rest', 'rss-after-writes', 'ceiling-nginx-item',
  'ceiling-mhd-item', 'item-by-id', 'title-eq', 'operator-cycle', 'ceiling-nginx-file',
  'ceiling-mhd-file', 'file-content', 'sdk', 'propagation', 'writes']) r[n] = raw(n);
const load = { hub: 0, sync: 0, api: 0 };
try {
  for (const line of fs.readFileSync(path.join(outdir, 'raw', 'rss-load.txt'), 'utf8').split('\n')) {
    const v = line.trim().split(/\s+/).map(Number);
    const [h, s, a] = v;
    if (v.length === 3 && v.every(Number.isFinite)) {
      load.hub = Math.max(load.hub, h);
      load.sync = Math.max(load.sync, s);
      load.api = Math.max(load.api, a);
    }
  }
} catch { /* no samples */ }
r['rss-load'] = load;

const num = (x, d = 0) => (x === null || x === undefined || Number.isNaN(x) ? '—'
  : Number(x).toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }));
const ms = (us) => num(us / 1000, 2);
const mb = (kib) => num(kib / 1024, 1);
const pctOf = (a, b) => (a && b ? `${num((100 * a) / b)} %` : '—');
const errs = (w) => (w ? Object.values(w.errors).reduce((x, y) => x + y, 0) : null);
const mark = (ok) => (ok === null ? 'not measured' : ok ? 'met' : '**not met**');
const items = (r.cold && r.cold.items) || k.BENCH_ITEMS;

// ---- targets ----
const T = [];
const item = r['item-by-id'], ngx = r['ceiling-nginx-item'];
const itemOk = item && errs(item) === 0;
T.push([`GET item by id ≥ 60 % of nginx's req/s (same ${num(meta.item_bytes)} bytes, ${k.BENCH_CONC} connections)`,
  item && ngx ? `${pctOf(item.rps, ngx.rps)} (${num(item.rps)} vs ${num(ngx.rps)} req/s)` : '—',
  item && ngx ? itemOk && item.rps >= 0.6 * ngx.rps : null]);
T.push(['GET item by id p99 < 5 ms', item ? `${ms(item.p99_us)} ms` : '—',
  item ? itemOk && item.p99_us < 5000 : null]);
const te = r['title-eq'];
T.push([`list items with \`title eq\` on the ${num(items)}-item vault: p99 < 5 ms`,
  te ? `${ms(te.p99_us)} ms` : '—', te ? errs(te) === 0 && te.p99_us < 5000 : null]);
const w = r.writes;
T.push([`≥ 1,000 acknowledged item writes/s (${k.BENCH_WRITERS} writers), read-after-write intact`,
  w ? `${num(w.writes_per_s)} writes/s, ${w.read_after_write_misses} misses, ${w.errors} errors` : '—',
  w ? w.writes_per_s >= 1000 && w.read_after_write_misses === 0 && w.errors === 0 : null]);
const p = r.propagation;
const pFull = p && p.edits === k.BENCH_EDITS;
T.push(['propagation to a second Connect server: median < 50 ms',
  p ? `${num(p.median_ms, 1)} ms (${p.edits} edits)` : '—', p ? pFull && p.median_ms < 50 : null]);
T.push(['propagation: p99 < 250 ms', p ? `${num(p.p99_ms, 1)} ms` : '—', p ? pFull && p.p99_ms < 250 : null]);
const cold = r.cold;
const coldText = (c) => (c.ok ? `${num(c.ms)} ms`
  : `no right answer within ${c.timeout_s} s (last HTTP ${c.last_status}; sync: ${(c.sync_said || 'nothing logged').replace(/\|/g, '/')})`);
T.push([`cold start with ${num(items)} items: first request answered < 1 s after the unlocking token`,
  cold ? coldText(cold) : '—', cold ? cold.ok && cold.ms < 1000 : null]);
const apiMax = Math.max(r['rss-rest']?.api || 0, load.api, r['rss-after-writes']?.api || 0);
T.push([`api RSS with ${num(items)} items < 64 MiB (the most seen: at rest, reads, after writes)`,
  apiMax ? `${mb(apiMax)} MiB` : '—', apiMax ? apiMax < 64 * 1024 : null]);

// ---- the markdown ----
const L = [];
L.push(`### Results of ${meta.date}`, '');
L.push(`Machine: ${meta.cores} cores (${meta.cpu}), ${meta.mem}, Linux ${meta.kernel}; load average ` +
  `${meta.load_start} at the start, ${meta.load_end} at the end (the load generators run on the ` +
  'same cores). ' + `Build: ${meta.build_type}, commit ${meta.commit}. Tools: ${meta.tools.wrk}, ` +
  `${meta.tools.nginx}, node ${meta.tools.node}, libmicrohttpd ${meta.tools.libmicrohttpd}.`, '');
L.push(`Knobs: ${Object.entries(k).map(([n, v]) => `${n}=${v}`).join(' ')}.`, '');
const pop = r.populate;
L.push(`Set-up: ${num(items)} items in the vault Bench (${pop ? `${num(pop.created)} POSTed through the api ` +
  `at ${num(pop.per_s)} items/s, ` : ''}${k.BENCH_FILE_ITEMS} with attachments by the admin CLI), ` +
  `${k.BENCH_VAULTS - 1} more vaults of ${k.BENCH_OTHER_ITEMS} items: ${num(meta.setup_ms / 1000)} s; ` +
  `the whole run ${num(meta.run_seconds)} s.`, '');
L.push('| target | measured | |', '|---|---|---|');
for (const [t, m, ok] of T) L.push(`| ${t} | ${m} | ${mark(ok)} |`);
L.push('');

L.push(`Reads: wrk, ${k.BENCH_CONC} keep-alive connections, ${k.BENCH_WRK_THREADS} threads, ${k.BENCH_SECONDS} s ` +
  'each; the ratios compare req/s with the two ceilings serving the same bytes (for the listings: ' +
  "the item's bytes).", '');
L.push('| scenario | req/s | p50 ms | p99 ms | errors | vs nginx | vs libmicrohttpd |', '|---|---|---|---|---|---|---|');
const mhd = r['ceiling-mhd-item'], ngxF = r['ceiling-nginx-file'], mhdF = r['ceiling-mhd-file'];
const row = (name, x, n, m) => L.push(`| ${name} | ${x ? num(x.rps) : '—'} | ${x ? ms(x.p50_us) : '—'} | ` +
  `${x ? ms(x.p99_us) : '—'} | ${x ? errs(x) : '—'} | ${x ? pctOf(x.rps, n?.rps) : '—'} | ${x ? pctOf(x.rps, m?.rps) : '—'} |`);
row(`ceiling: nginx, static file of the item's ${num(meta.item_bytes)} bytes`, ngx, ngx, mhd);
row('ceiling: nullhttpd (libmicrohttpd, the api\'s options), the same bytes', mhd, ngx, mhd);
row('GET item by id', item, ngx, mhd);
row(`list items \`title eq\` (up to 1,000 titles spread over a vault of ${num(items)})`, te, ngx, mhd);
row('operator cycle: vault by title, item by title, item by id, its files (req/s of the four)',
  r['operator-cycle'], ngx, mhd);
row(`ceiling: nginx, ${k.BENCH_FILE_MB} MB file`, ngxF, ngxF, mhdF);
row(`ceiling: nullhttpd, ${k.BENCH_FILE_MB} MB file`, mhdF, ngxF, mhdF);
row(`GET file content (${k.BENCH_FILE_MB} MB)`, r['file-content'], ngxF, mhdF);
const sdk = r.sdk;
L.push(`| JS SDK getItemByTitle from Node, ${k.BENCH_SDK_CONC} in flight (calls/s; 2 requests each) | ` +
  (sdk ? `${num(sdk.calls_per_s)} | ${num(sdk.p50_ms, 2)} | ${num(sdk.p99_ms, 2)} | ${sdk.errors} | — | — |`
    : 'not run (SDK not installed) | | | | | |'));
L.push('');

L.push('| measure | result |', '|---|---|');
if (w) {
  const bk = w.by_kind;
  L.push(`| writes: ${w.writers} writers through the api (POST, PUT, PATCH in turn; each write read back before the next), ${num(w.seconds, 1)} s | ` +
    `**${num(w.writes_per_s, 1)} writes/s** (${bk.post.writes} POST, ${bk.put.writes} PUT, ${bk.patch.writes} PATCH); ` +
    `p50 ${num(w.p50_ms, 1)} ms, p99 ${num(w.p99_ms, 1)} ms, worst ${num(w.max_ms, 1)} ms ` +
    `(p99 POST ${num(bk.post.p99_ms, 1)}, PUT ${num(bk.put.p99_ms, 1)}, PATCH ${num(bk.patch.p99_ms, 1)}); ` +
    `${w.reads_after_write} reads after write, ${w.read_after_write_misses} misses, ${w.errors} errors` +
    `${w.error_samples.length ? ` (${w.error_samples[0].replace(/\|/g, '/')})` : ''} |`);
}
if (p) {
  L.push(`| propagation: PATCH through server A acknowledged → served by server B (polled every ${p.poll_ms} ms) | ` +
    `median **${num(p.median_ms, 1)} ms**, p90 ${num(p.p90_ms, 1)} ms, p99 ${num(p.p99_ms, 1)} ms, worst ${num(p.worst_ms, 1)} ms over ${p.edits} edits |`);
}
if (cold) {
  L.push(`| cold start: server C's first request (unlock, full pull of ${num(cold.items)} items, index) to the first right answer | ` +
    `**${coldText(cold)}** (first answer HTTP ${cold.first_status}; ${cold.requests} request${cold.requests > 1 ? 's' : ''}) |`);
}
L.push(`| api restart on its volume: first right answer (unlock, index of every item from the volume) | ${num(meta.warm_restart_ms)} ms |`);
const rr = r['rss-rest'], ra = r['rss-after-writes'];
if (rr) {
  L.push(`| RSS at rest after the set-up: hub / sync / api | ${mb(rr.hub)} / ${mb(rr.sync)} / ${mb(rr.api)} MiB ` +
    `(server B: sync ${mb(rr.sync_b)}, api ${mb(rr.api_b)} MiB) |`);
}
L.push(`| RSS under the read load (most, sampled every 0.5 s): hub / sync / api | ${mb(load.hub)} / ${mb(load.sync)} / ${mb(load.api)} MiB |`);
if (ra) L.push(`| RSS after the writes: hub / sync / api | ${mb(ra.hub)} / ${mb(ra.sync)} / ${mb(ra.api)} MiB |`);
const lg = Object.entries(meta.logs).map(([n, v]) => `${n.toLowerCase()} ${v.errors}/${v.warnings}`).join(', ');
L.push(`| log lines at error / warning level | ${lg}${meta.unclean_stops ? `; not stopped cleanly:${meta.unclean_stops}` : ''} |`);
L.push('');

L.push('Commands (`$T` is the run\'s temporary directory; `BENCH_PATHS` files hold the request targets):', '', '```');
for (const n of ['ceiling-nginx-item', 'ceiling-mhd-item', 'item-by-id', 'title-eq', 'operator-cycle',
  'ceiling-nginx-file', 'ceiling-mhd-file', 'file-content']) {
  const c = cmd(n);
  if (c) L.push(`# ${n}`, c);
}
L.push(`# sdk, propagation, writes, set-up`,
  `node scripts/bench/sdk.mjs SDK_DIR URL TOKEN VAULT titles ${k.BENCH_SECONDS} ${k.BENCH_SDK_CONC}`,
  `node scripts/bench/propagation.mjs URL_A TOKEN_A URL_B TOKEN_B VAULT ITEM ${k.BENCH_EDITS} 1`,
  `node scripts/bench/connect-write.mjs URL TOKEN VAULT ${k.BENCH_WRITE_SECONDS} ${k.BENCH_WRITERS}`,
  `node scripts/bench/populate.mjs URL TOKEN VAULT "item " ${k.BENCH_ITEMS} ${k.BENCH_SETUP_CONNS} ids`, '```', '');

const md = L.join('\n');
fs.writeFileSync(path.join(outdir, 'results.md'), md);
fs.writeFileSync(path.join(outdir, 'results.json'), JSON.stringify({ meta, results: r,
  targets: T.map(([t, m, ok]) => ({ target: t, measured: m, met: ok })) }, null, 2));
console.log(md);

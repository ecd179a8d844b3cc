// backends.mjs BACKEND_JSON DOC UPDATE: the hub comparison of `make bench BENCH_SCENARIOS=hub`
// (scripts/bench/run.sh). Prints this backend's figures and, when UPDATE is 1, rewrites the
// block of DOC between <!-- bench:backends:begin --> and <!-- bench:backends:end -->: one
// row per backend in each table, each run's command line, date and machine. Each backend's
// figures are kept in the block as a comment (<!-- bench:backend {...} -->), so a run
// replaces its own backend's figures and the other backend's stay. The rest of DOC (the
// main table between the bench:results markers) is not touched.
import fs from 'node:fs';

const [file, doc, update] = process.argv.slice(2);
const run = JSON.parse(fs.readFileSync(file, 'utf8'));
const num = (v, d = 1) => (typeof v === 'number' ? v.toFixed(d) : '—');
const int = (v) => (typeof v === 'number' ? Math.round(v).toLocaleString('en-US') : '—');

// resultRow, cpuRow, runLine RUN: the lines of one backend.
const resultRow = (r) => {
  const w = r.writes || {};
  const p = r.propagation || {};
  return `| ${r.backend} | ${num(w.writes_per_s, 0)} | ${w.read_after_write_misses ?? '—'} / `
    + `${w.errors ?? '—'} | ${num(w.p50_ms)} / ${num(w.p99_ms)} | ${num(p.median_ms)} / `
    + `${num(p.p90_ms)} / ${num(p.p99_ms)} | ${num(r.hub_rss_kib / 1024)} |`;
};
const cpuRow = (r) => {
  const c = r.cpu_writes || {};
  const db = r.backend === 'sqlite' ? 'in the hub' : num(c.db_ms_per_write, 2);
  return `| ${r.backend} | ${num(c.hub_ms_per_write, 2)} | ${db} | ${num(c.api_sync_ms_per_write, 2)} | `
    + `${num(c.server_b_ms_per_write, 2)} | ${c.machine_busy_pct ?? '—'} % | `
    + `${r.backend === 'sqlite' ? '—' : `${int(c.db_commits_per_s)} / ${int(c.db_wal_flushes_per_s)}`} |`;
};
const runLine = (r) => {
  const m = r.machine || {};
  return `- ${r.backend}: \`${r.command}\` — ${r.date}, commit ${r.commit}; ${r.items} items in `
    + `the vault (set-up ${r.setup_s} s), ${r.writers} writers for ${r.seconds} s, ${r.edits} `
    + `edits; ${m.cores} cores (${m.cpu}), ${m.mem}, load average ${m.load} (start / end).`;
};

console.log(`bench: ${resultRow(run)}`);
console.log(`bench: ${cpuRow(run)}`);
if (update !== '1') process.exit(0);

const begin = '<!-- bench:backends:begin -->';
const end = '<!-- bench:backends:end -->';
let text = fs.readFileSync(doc, 'utf8');
const a = text.indexOf(begin);
const b = text.indexOf(end);
if (a < 0 || b < a) {
  console.error(`backends.mjs: ${doc} has no ${begin} ... ${end} block`);
  process.exit(1);
}
// the figures already in the block, one backend each; this run replaces its backend's
const runs = new Map();
for (const m of text.slice(a, b).matchAll(/^<!-- bench:backend (\{.*\}) -->$/gm)) {
  try {
    const r = JSON.parse(m[1]);
    runs.set(r.backend, r);
  } catch {
    // a damaged line is dropped
  }
}
runs.set(run.backend, run);
// SQLite (the default) first
const all = [...runs.values()].sort((x, y) => y.backend.localeCompare(x.backend));
// "--" would end the HTML comment: JSON allows it escaped inside strings
const keep = (r) => `<!-- bench:backend ${JSON.stringify(r).replace(/--/g, '-\\u002d')} -->`;
const lines = [
  ...all.map(keep),
  '',
  '| hub backend | acknowledged writes/s | read-after-write misses / errors | write p50 / p99 ms |'
    + ' propagation median / p90 / p99 ms | hub RSS MiB |',
  '|---|---|---|---|---|---|',
  ...all.map(resultRow),
  '',
  'Where the CPU went during the write scenario, per acknowledged write (user + system time;'
    + ' PostgreSQL: all of the cluster\'s processes), and the database\'s commits and WAL flushes:',
  '',
  '| hub backend | hub CPU ms | PostgreSQL CPU ms | api + sync (server A) CPU ms |'
    + ' server B CPU ms | machine busy | commits / WAL flushes per s |',
  '|---|---|---|---|---|---|---|',
  ...all.map(cpuRow),
  '',
  'Runs:',
  ...all.map(runLine),
];
text = `${text.slice(0, a + begin.length)}\n${lines.join('\n')}\n${text.slice(b)}`;
fs.writeFileSync(doc, text);
console.log(`bench: the ${run.backend} row written to ${doc} (bench:backends)`);

// backends.mjs BACKEND_JSON DOC UPDATE: the hub comparison of `make bench BENCH_SCENARIOS=hub`
// (scripts/bench/run.sh). Prints this backend's row and, when UPDATE is 1, writes it into
// DOC between <!-- bench:backends:begin --> and <!-- bench:backends:end -->: one row per
// backend (a new run replaces its backend's row, the other backend's row stays).
import fs from 'node:fs';

const [file, doc, update] = process.argv.slice(2);
const r = JSON.parse(fs.readFileSync(file, 'utf8'));
const w = r.writes || {};
const p = r.propagation || {};
const num = (v, d = 1) => (typeof v === 'number' ? v.toFixed(d) : '?');
const row = `| ${r.backend} | ${num(w.writes_per_s, 0)} | ${w.read_after_write_misses ?? '?'} / ` +
  `${w.errors ?? '?'} | ${num(w.p50_ms)} / ${num(w.p99_ms)} | ${num(p.median_ms)} / ` +
  `${num(p.p90_ms)} / ${num(p.p99_ms)} | ${(r.hub_rss_kib / 1024).toFixed(1)} | ${r.date}, ` +
  `${r.commit}, load ${r.load} |`;
console.log(row);
if (update !== '1') process.exit(0);

const header = [
  `Both rows: ${r.items} items in the vault, ${r.writers} writers for ${r.seconds} s (POST, PUT,`
    + ` PATCH through server A's api, each read back), ${r.edits} edits timed until server B`
    + ` serves them; ${r.cores} cores (${r.cpu}), load generators on the same cores.`,
  `Command: \`make bench BENCH_SCENARIOS=hub BENCH_HUB_DATABASE=sqlite|postgresql`
    + ` BENCH_ITEMS=${r.items - 4}\`.`,
  '',
  '| hub backend | writes/s | read-after-write misses / errors | write p50 / p99 ms |'
    + ' propagation median / p90 / p99 ms | hub RSS MiB | run |',
  '|---|---|---|---|---|---|---|',
];
let text = fs.readFileSync(doc, 'utf8');
const begin = '<!-- bench:backends:begin -->';
const end = '<!-- bench:backends:end -->';
const a = text.indexOf(begin);
const b = text.indexOf(end);
if (a < 0 || b < a) {
  console.error(`backends.mjs: ${doc} has no ${begin} ... ${end} block`);
  process.exit(1);
}
const old = text.slice(a + begin.length, b).split('\n')
  .filter((l) => l.startsWith('| ') && !l.startsWith('| hub backend') && !l.startsWith(`| ${r.backend} |`));
const rows = [...old, row].sort();
text = text.slice(0, a + begin.length) + '\n' + [...header, ...rows].join('\n') + '\n' + text.slice(b);
fs.writeFileSync(doc, text);

// connect-write.mjs - the write scenario of `make bench`: WRITERS concurrent writers, each on
// its own keep-alive connection, for SECONDS, through the Connect api (api -> sync -> hub).
// Each writer goes round three writes: POST a new item (a benchItem, common.mjs), PUT it
// whole with its version (a changed note), PATCH its title; after every acknowledged write
// it GETs the item and checks that the answer shows that write (title, note, version):
// read-after-write on the server that acknowledged it. Prints one JSON object: writes,
// writes/s, p50/p99 write latency (all and per kind), read-after-write misses, errors and
// the first few error answers.
// Usage: node connect-write.mjs URL TOKEN VAULT_ID SECONDS WRITERS
import { client, benchItem, pct, ms3 } from './common.mjs';

const [url, token, vault, secondsArg, writersArg] = process.argv.slice(2);
const seconds = Number(secondsArg), writers = Number(writersArg);
const stopAt = Date.now() + seconds * 1000;
const lat = { post: [], put: [], patch: [] };
let misses = 0, errors = 0, reads = 0;
const samples = [];

function fail(what, r) {
  errors++;
  if (samples.length < 5) {
    const b = Buffer.isBuffer(r.body) ? r.body.toString() : JSON.stringify(r.body);
    samples.push(`${what}: HTTP ${r.status} ${String(b).slice(0, 200)}`);
  }
}

const notes = (item) => (item.fields || []).find((f) => f.id === 'notesPlain')?.value;

async function writer(w) {
  const c = client(url, token, 1);
  const path = (id) => `/v1/vaults/${vault}/items/${id}`;
  let mine = null; // {id, version, title}
  // check(id, expect): GETs the item and counts a miss when it does not show the write.
  const check = async (id, expect) => {
    const g = await c.request('GET', path(id));
    reads++;
    if (g.status !== 200 || g.body.version !== expect.version || g.body.title !== expect.title ||
        (expect.notes !== undefined && notes(g.body) !== expect.notes)) {
      misses++;
      if (samples.length < 5) {
        samples.push(`miss on ${id}: wanted ${JSON.stringify(expect)}, got HTTP ${g.status} ` +
          `version ${g.body?.version} title ${JSON.stringify(g.body?.title)}`);
      }
    }
  };
  try {
    for (let k = 0; Date.now() < stopAt; k++) {
      const kind = mine ? ['put', 'patch', 'post'][k % 3] : 'post';
      const n = 1000000 + w * 100000 + k;
      if (kind === 'post') {
        const title = `writer ${w} item ${k}`;
        const r = await c.request('POST', `/v1/vaults/${vault}/items`, benchItem(vault, title, n));
        if (r.status !== 200) { fail('POST', r); continue; }
        lat.post.push(r.us);
        mine = { id: r.body.id, version: r.body.version, title };
        await check(mine.id, { version: mine.version, title });
      } else if (kind === 'put') {
        const body = benchItem(vault, mine.title, n);
        body.id = mine.id;
        body.version = mine.version;
        body.fields[2].value = `put ${k} by writer ${w}`;
        const r = await c.request('PUT', path(mine.id), body);
        if (r.status !== 200) { fail('PUT', r); mine = null; continue; }
        lat.put.push(r.us);
        mine.version += 1; // the answer carries the version before the update (Connect)
        await check(mine.id, { version: mine.version, title: mine.title, notes: body.fields[2].value });
      } else {
        const title = `writer ${w} item ${k} patched`;
        const r = await c.request('PATCH', path(mine.id), [{ op: 'replace', path: '/title', value: title }]);
        if (r.status !== 200) { fail('PATCH', r); mine = null; continue; }
        lat.patch.push(r.us);
        mine.version = r.body.version;
        mine.title = title;
        await check(mine.id, { version: mine.version, title });
      }
    }
  } catch (e) {
    errors++;
    if (samples.length < 5) samples.push(`writer ${w}: ${e.message}`);
  } finally {
    c.close();
  }
}

const t0 = Date.now();
await Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));
const secs = (Date.now() - t0) / 1000;
const all = [...lat.post, ...lat.put, ...lat.patch].sort((a, b) => a - b);
const kinds = {};
for (const [k, a] of Object.entries(lat)) {
  a.sort((x, y) => x - y);
  kinds[k] = { writes: a.length, p50_ms: ms3(pct(a, 0.5)), p99_ms: ms3(pct(a, 0.99)) };
}
console.log(JSON.stringify({
  writers, seconds: secs, writes: all.length, writes_per_s: Math.round(all.length / secs * 10) / 10,
  p50_ms: ms3(pct(all, 0.5)), p99_ms: ms3(pct(all, 0.99)), max_ms: ms3(all.length ? all[all.length - 1] : 0),
  by_kind: kinds, reads_after_write: reads, read_after_write_misses: misses, errors, error_samples: samples,
}));

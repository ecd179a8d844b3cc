// populate.mjs - the set-up of `make bench`: creates COUNT items in one vault through the
// real write path (POST to the Connect api, which seals them and has sync commit them to the
// hub), CONNS requests at a time over keep-alive connections. The items are benchItem()s
// (common.mjs) titled "PREFIX1".."PREFIXCOUNT". Appends "id<TAB>title" lines to OUT and
// prints one JSON object: {created, seconds, per_s}. Exits 1 at the first failed write.
// Usage: node populate.mjs URL TOKEN VAULT_ID PREFIX COUNT CONNS OUT
import fs from 'node:fs';
import { client, benchItem } from './common.mjs';

const [url, token, vault, prefix, countArg, connsArg, out] = process.argv.slice(2);
const count = Number(countArg), conns = Number(connsArg);
const c = client(url, token, conns);
const lines = new Array(count);
let next = 1, created = 0;

async function writer() {
  for (;;) {
    const n = next++;
    if (n > count) return;
    const title = `${prefix}${n}`;
    const r = await c.request('POST', `/v1/vaults/${vault}/items`, benchItem(vault, title, n));
    if (r.status !== 200 || !r.body || r.body.title !== title) {
      const what = Buffer.isBuffer(r.body) ? r.body.toString().slice(0, 300) : JSON.stringify(r.body).slice(0, 300);
      throw new Error(`POST "${title}": HTTP ${r.status} ${what}`);
    }
    lines[n - 1] = `${r.body.id}\t${title}`;
    created++;
  }
}

const t0 = Date.now();
try {
  await Promise.all(Array.from({ length: Math.min(conns, count) }, writer));
} catch (e) {
  console.error(`populate: ${e.message}`);
  process.exitCode = 1;
}
const seconds = (Date.now() - t0) / 1000;
fs.appendFileSync(out, lines.filter(Boolean).map((l) => `${l}\n`).join(''));
c.close();
console.log(JSON.stringify({ created, seconds, per_s: Math.round(created / seconds) }));

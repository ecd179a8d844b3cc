// propagation.mjs - the propagation scenario of `make bench`: EDITS times, changes an item
// through Connect server A's api (PATCH of its title; the answer means the hub committed
// it) and measures how long until Connect server B - its own sync, api and volume - serves
// the new version, polling B every POLL_MS over a keep-alive connection (each poll is one
// GET of the item). Prints one JSON object: edits, median, p90, p99 and worst in ms.
// Usage: node propagation.mjs URL_A TOKEN_A URL_B TOKEN_B VAULT_ID ITEM_ID EDITS [POLL_MS]
import { client, pct } from './common.mjs';

const [urlA, tokenA, urlB, tokenB, vault, item, editsArg, pollArg] = process.argv.slice(2);
const edits = Number(editsArg), pollMs = Number(pollArg || 1);
const a = client(urlA, tokenA, 1), b = client(urlB, tokenB, 1);
const path = `/v1/vaults/${vault}/items/${item}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const lat = [];
let polls = 0;

try {
  for (let e = 0; e < edits; e++) {
    const title = `propagation probe ${e}`;
    const w = await a.request('PATCH', path, [{ op: 'replace', path: '/title', value: title }]);
    if (w.status !== 200) throw new Error(`PATCH on A: HTTP ${w.status}`);
    const t0 = process.hrtime.bigint();
    for (;;) {
      const g = await b.request('GET', path);
      polls++;
      if (g.status === 200 && g.body.version >= w.body.version) {
        if (g.body.title !== title) throw new Error(`B serves version ${g.body.version} with title ${g.body.title}`);
        break;
      }
      if (Number(process.hrtime.bigint() - t0) > 10e9) throw new Error(`edit ${e} not on B within 10 s`);
      await sleep(pollMs);
    }
    lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
} catch (e) {
  console.error(`propagation: ${e.message}`);
  process.exitCode = 1;
}
lat.sort((x, y) => x - y);
const at = (p) => Math.round(pct(lat, p) * 10) / 10;
console.log(JSON.stringify({ edits: lat.length, poll_ms: pollMs, polls, median_ms: at(0.5), p90_ms: at(0.9),
  p99_ms: at(0.99), worst_ms: at(1) }));
a.close();
b.close();

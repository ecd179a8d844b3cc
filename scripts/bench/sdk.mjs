// sdk.mjs - the JS SDK scenario of `make bench`: the official 1Password Connect SDK
// (@1password/connect, as installed by tests/integration/sdk_lib.bash) calling
// getItemByTitle (a title-eq listing, then the item by id: two requests) with CONC calls in
// flight for SECONDS, round the titles of TITLES_FILE (one a line). Every answer is checked
// (the right title, fields present). Prints one JSON object: calls, calls/s, p50/p99/max in
// ms, errors and the first error.
// Usage: node sdk.mjs SDK_DIR URL TOKEN VAULT_ID TITLES_FILE SECONDS CONC
import { createRequire } from 'node:module';
import fs from 'node:fs';
import { pct, ms3 } from './common.mjs';

const [sdkDir, url, token, vault, titlesFile, secondsArg, concArg] = process.argv.slice(2);
const { OnePasswordConnect } = createRequire(`${sdkDir}/`)('@1password/connect');
const op = OnePasswordConnect({ serverURL: url, token, keepAlive: true });
const titles = fs.readFileSync(titlesFile, 'utf8').split('\n').filter(Boolean);
const conc = Number(concArg), stopAt = Date.now() + Number(secondsArg) * 1000;
const lat = [];
let errors = 0, first = null, next = 0;

async function worker() {
  while (Date.now() < stopAt) {
    const title = titles[next++ % titles.length];
    const t0 = process.hrtime.bigint();
    try {
      const item = await op.getItemByTitle(vault, title);
      if (item.title !== title || !Array.isArray(item.fields) || !item.fields.length) {
        throw new Error(`asked for "${title}", got "${item.title}"`);
      }
      lat.push(Number(process.hrtime.bigint() - t0) / 1000);
    } catch (e) {
      errors++;
      if (!first) first = String(e.message || e).slice(0, 300);
    }
  }
}

const t0 = Date.now();
await Promise.all(Array.from({ length: conc }, worker));
const secs = (Date.now() - t0) / 1000;
lat.sort((a, b) => a - b);
console.log(JSON.stringify({ conc, seconds: secs, calls: lat.length, calls_per_s: Math.round(lat.length / secs * 10) / 10,
  p50_ms: ms3(pct(lat, 0.5)), p99_ms: ms3(pct(lat, 0.99)), max_ms: ms3(lat.length ? lat[lat.length - 1] : 0),
  errors, first_error: first }));

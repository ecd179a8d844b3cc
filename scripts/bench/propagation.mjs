// propagation.mjs - for `make bench`: EDITS times, changes an item with the admin CLI
// (`sesame item edit`, which returns once the hub committed) and measures how long until
// the Connect api serves the new version, polling every 2 ms over a keep-alive connection.
// Prints one JSON object: median, p90 and worst in milliseconds.
// Usage: node propagation.mjs URL TOKEN SESAME VAULT_ID ITEM_ID VAULT_NAME EDITS
import http from 'node:http';
import { execFileSync } from 'node:child_process';

const [url, token, sesame, vault, item, vaultName, editsArg] = process.argv.slice(2);
const base = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const version = () => new Promise((resolve, reject) => {
  const req = http.request({ host: base.hostname, port: base.port, agent,
    path: `/v1/vaults/${vault}/items/${item}`, headers: { authorization: `Bearer ${token}` } }, (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString()).version));
  });
  req.on('error', reject);
  req.end();
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const lat = [];
for (let e = 0; e < Number(editsArg); e++) {
  const v = await version();
  execFileSync(sesame, ['item', 'edit', item, '--vault', vaultName, '--notes', `edit ${e}`], { stdio: 'ignore' });
  const t0 = process.hrtime.bigint();
  for (;;) {
    if ((await version()) > v) break;
    if (Number(process.hrtime.bigint() - t0) > 10e9) throw new Error(`edit ${e} never arrived`);
    await sleep(2);
  }
  lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
lat.sort((a, b) => a - b);
const at = (p) => Math.round(lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] * 10) / 10;
console.log(JSON.stringify({ edits: lat.length, median_ms: at(0.5), p90_ms: at(0.9), worst_ms: at(1) }));
agent.destroy();

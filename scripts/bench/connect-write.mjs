// connect-write.mjs - write load for `make bench`: CONC keep-alive connections, each
// PATCHing its own item (replace /title) then GETting it (read-your-writes checked) for
// SECONDS. Prints one JSON object: writes/s, p50/p99 write latency, read-after-write misses.
// Usage: node connect-write.mjs URL TOKEN VAULT_ID SECONDS CONC ITEM_ID...
import http from 'node:http';

const [url, token, vault, secondsArg, concArg, ...items] = process.argv.slice(2);
const base = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(concArg) });
function req(method, path, body) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const r = http.request({ host: base.hostname, port: base.port, method, path, agent,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, us: Number(process.hrtime.bigint() - t0) / 1000,
        body: chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : null }));
    });
    r.on('error', reject);
    if (body) r.write(JSON.stringify(body));
    r.end();
  });
}
const stopAt = Date.now() + Number(secondsArg) * 1000;
const lat = [];
let writes = 0, misses = 0, errors = 0;
async function worker(item) {
  for (let n = 0; Date.now() < stopAt; n++) {
    const title = `bench ${item} ${n}`;
    const w = await req('PATCH', `/v1/vaults/${vault}/items/${item}`, [{ op: 'replace', path: '/title', value: title }]);
    if (w.status !== 200) { errors++; continue; }
    lat.push(w.us);
    writes++;
    const g = await req('GET', `/v1/vaults/${vault}/items/${item}`);
    if (g.status !== 200 || g.body.title !== title) misses++;
  }
}
const t0 = Date.now();
await Promise.all(items.slice(0, Number(concArg)).map(worker));
const secs = (Date.now() - t0) / 1000;
lat.sort((a, b) => a - b);
const at = (p) => Math.round(lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]) / 1000;
console.log(JSON.stringify({ writes, errors, read_after_write_misses: misses, seconds: secs,
  writes_per_s: Math.round(writes / secs), p50_ms: at(0.5), p99_ms: at(0.99) }));
agent.destroy();

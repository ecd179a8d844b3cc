// burst.js URLFILE TOKEN VAULT PREFIX N CONCURRENCY OUT: N POSTs with unique titles; appends
// one JSON line {t, s, id, m} per answer to OUT (s 0: no answer). Backs off 100 ms after a
// failure so that the burst outlives a restart. The URL is re-read for every request.
const http = require('http');
const fs = require('fs');
const [urlFile, token, vault, prefix, nArg, concArg, out] = process.argv.slice(2);
const n = Number(nArg);
const conc = Number(concArg);
const agent = new http.Agent({ keepAlive: true, maxSockets: conc });
let next = 0;
function post(i) {
  return new Promise((resolve) => {
    const u = new URL(fs.readFileSync(urlFile, 'utf8').trim());
    const t = prefix + i;
    const data = Buffer.from(JSON.stringify({ vault: { id: vault }, title: t, category: 'PASSWORD',
      fields: [{ id: 'password', purpose: 'PASSWORD', type: 'CONCEALED', value: `v${i}` }] }));
    const r = http.request({ host: u.hostname, port: u.port, path: `/v1/vaults/${vault}/items`,
      method: 'POST', agent, headers: { Authorization: `Bearer ${token}`,
        'Content-Type': 'application/json', 'Content-Length': data.length,
        'User-Agent': 'connect-write-burst' } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        let b = null;
        try { b = JSON.parse(Buffer.concat(chunks).toString()); } catch (e) { /* not JSON */ }
        resolve({ t, s: res.statusCode, id: (b && b.id) || '', m: (b && b.message) || '' });
      });
      res.on('error', (e) => resolve({ t, s: 0, id: '', m: String(e.code || e) }));
    });
    r.on('error', (e) => resolve({ t, s: 0, id: '', m: String(e.code || e) }));
    r.setTimeout(20000, () => r.destroy(new Error('client timeout')));
    r.end(data);
  });
}
async function worker() {
  while (next < n) {
    const i = next++;
    const res = await post(i);
    fs.appendFileSync(out, JSON.stringify(res) + '\n');
    if (res.s !== 200) await new Promise((r) => setTimeout(r, 100));
  }
}
Promise.all(Array.from({ length: conc }, worker)).then(() => { agent.destroy(); });

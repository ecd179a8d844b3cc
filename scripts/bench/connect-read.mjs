// connect-read.mjs - load generator for `make bench`: replays the read pattern of the
// Kubernetes operator / External Secrets (resolve vault by title, list items by title,
// get the item) against a Connect server with C keep-alive connections for D seconds,
// sampling the api's resident memory. Prints one JSON object with the figures.
// Usage: node connect-read.mjs URL TOKEN API_PID SECONDS CONCURRENCY VAULT_TITLE TITLES_FILE
import http from 'node:http';
import fs from 'node:fs';

const [url, token, pid, secondsArg, concArg, vaultTitle, titlesFile] = process.argv.slice(2);
const seconds = Number(secondsArg), conc = Number(concArg);
const titles = fs.readFileSync(titlesFile, 'utf8').split('\n').filter(Boolean);
const agent = new http.Agent({ keepAlive: true, maxSockets: conc });
const base = new URL(url);

function get(path) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.request({ host: base.hostname, port: base.port, path, agent,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const us = Number(process.hrtime.bigint() - t0) / 1000;
        if (res.statusCode !== 200) reject(new Error(`${path}: HTTP ${res.statusCode}`));
        else resolve({ body: JSON.parse(Buffer.concat(chunks).toString()), us });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function rssKiB() {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(s)[1]);
}

const q = (s) => encodeURIComponent(s);
const lat = { vaults: [], items: [], item: [] };
let done = 0, errors = 0;
const vaults = await get(`/v1/vaults?filter=${q(`title eq "${vaultTitle}"`)}`);
const vault = vaults.body[0].id;
const rss = [rssKiB()];
const stopAt = Date.now() + seconds * 1000;
const sampler = setInterval(() => rss.push(rssKiB()), 1000);

async function worker(w) {
  let i = w;
  while (Date.now() < stopAt) {
    const title = titles[i++ % titles.length];
    try {
      const v = await get(`/v1/vaults?filter=${q(`title eq "${vaultTitle}"`)}`);
      lat.vaults.push(v.us);
      const l = await get(`/v1/vaults/${vault}/items?filter=${q(`title eq "${title}"`)}`);
      lat.items.push(l.us);
      const it = await get(`/v1/vaults/${vault}/items/${l.body[0].id}`);
      lat.item.push(it.us);
      done += 3;
    } catch (e) {
      errors++;
    }
  }
}
const t0 = Date.now();
await Promise.all(Array.from({ length: conc }, (_, w) => worker(w)));
const elapsed = (Date.now() - t0) / 1000;
clearInterval(sampler);
rss.push(rssKiB());
const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : 0; };
const ms = (us) => Math.round(us) / 1000;
const half = Math.floor(rss.length / 2);
console.log(JSON.stringify({
  requests: done, errors, seconds: elapsed, rps: Math.round(done / elapsed),
  p50_ms: { vaults: ms(pct(lat.vaults, 0.5)), items_by_title: ms(pct(lat.items, 0.5)), item: ms(pct(lat.item, 0.5)) },
  p99_ms: { vaults: ms(pct(lat.vaults, 0.99)), items_by_title: ms(pct(lat.items, 0.99)), item: ms(pct(lat.item, 0.99)) },
  rss_kib: { start: rss[0], mid: rss[half], end: rss[rss.length - 1], max: Math.max(...rss) },
}));
agent.destroy();

// common.mjs - what the Node scripts of `make bench` share: a keep-alive HTTP client for a
// Connect server, percentiles, the realistic item of the benchmark account, and reading the
// resident memory of a process.
import http from 'node:http';
import fs from 'node:fs';

// client(url, token, conns): a keep-alive client of at most `conns` connections. Its
// request(method, path, body) resolves to {status, us, body} (body parsed as JSON when it is
// JSON, else the raw Buffer); a network error rejects.
export function client(url, token, conns) {
  const base = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
  function request(method, path, body) {
    return new Promise((resolve, reject) => {
      const t0 = process.hrtime.bigint();
      const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
      const headers = { authorization: `Bearer ${token}` };
      if (data) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = data.length;
      }
      const r = http.request({ host: base.hostname, port: base.port, method, path, agent, headers },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const us = Number(process.hrtime.bigint() - t0) / 1000;
            const raw = Buffer.concat(chunks);
            let parsed = raw;
            if ((res.headers['content-type'] || '').startsWith('application/json') && raw.length) {
              try { parsed = JSON.parse(raw.toString()); } catch { parsed = raw; }
            }
            resolve({ status: res.statusCode, us, body: parsed });
          });
          res.on('error', reject);
        });
      r.setTimeout(60000, () => r.destroy(new Error(`${method} ${path}: no answer in 60 s`)));
      r.on('error', reject);
      if (data) r.write(data);
      r.end();
    });
  }
  return { request, close: () => agent.destroy() };
}

// pct(sorted, p): the p-quantile (0..1) of an ascending array (nearest rank); 0 when empty.
export function pct(sorted, p) {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

// ms3(us): microseconds as milliseconds with 3 decimals.
export const ms3 = (us) => Math.round(us) / 1000;

// rssKiB(pid): VmRSS of a process in KiB (0 when it is gone).
export function rssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

// q(s): a query-string value.
export const q = (s) => encodeURIComponent(s);

// titleFilter(title): the `filter` query of an exact-title lookup.
export const titleFilter = (title) => `filter=${q(`title eq "${title}"`)}`;

// benchItem(vaultId, title, n): the FullItem the benchmark creates (POST body): a LOGIN with
// a username, a generated password, a URL, notes, two tags and two sections holding four
// more fields - about what a real login carries (some 2 KB of JSON once stored).
export function benchItem(vaultId, title, n) {
  return {
    vault: { id: vaultId },
    title,
    category: 'LOGIN',
    tags: ['bench', `n${n % 10}`],
    urls: [{ primary: true, href: `https://app${n}.example.com/login` },
      { label: 'admin', href: `https://admin.example.com/tenants/${n}` }],
    sections: [{ id: 'account', label: 'Account' }, { id: 'recovery', label: 'Recovery' }],
    fields: [
      { id: 'username', type: 'STRING', purpose: 'USERNAME', label: 'username',
        value: `user${n}@example.com` },
      { id: 'password', type: 'CONCEALED', purpose: 'PASSWORD', label: 'password',
        generate: true, recipe: { length: 32, characterSets: ['LETTERS', 'DIGITS', 'SYMBOLS'] } },
      { id: 'notesPlain', type: 'STRING', purpose: 'NOTES', label: 'notesPlain',
        value: `Service account ${n} of the billing platform. Rotated by the platform team; ` +
          'ask in #platform before changing it. Used by the nightly export and the API gateway.' },
      { section: { id: 'account' }, type: 'STRING', label: 'account id', value: `acct-${100000 + n}` },
      { section: { id: 'account' }, type: 'EMAIL', label: 'owner', value: `team${n % 50}@example.com` },
      { section: { id: 'recovery' }, type: 'CONCEALED', label: 'recovery code',
        value: `rc-${(n * 7919) % 1000003}-${(n * 104729) % 999983}-bench` },
      { section: { id: 'recovery' }, type: 'URL', label: 'portal', value: `https://recover.example.com/${n}` },
    ],
  };
}

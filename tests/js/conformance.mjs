// conformance.mjs - the official 1Password Connect JS SDK (@1password/connect 1.4.2) against
// a running `sesame api`: every read method of the SDK, with the exact values it returns and
// the errors it rejects with. Run by tests/integration/connect_sdk.sh, which builds the account
// and writes the expected values to a JSON file:
//
//   SESAME_SDK_EXPECT=expected.json SESAME_JS_DIR=<dir holding node_modules> node conformance.mjs
//
// SESAME_JS_DIR defaults to this directory (`npm install` here, see package.json). Prints one
// "ok - ..." / "not ok - ..." line per check, then "N passed, N failed"; exits 1 on a failure.
import { createRequire } from "node:module";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const SDK_VERSION = "1.4.2";
const here = path.dirname(fileURLToPath(import.meta.url));
const sdkDir = process.env.SESAME_JS_DIR || here;
const expectFile = process.env.SESAME_SDK_EXPECT;

let passed = 0;
let failed = 0;

function ok(desc) {
    passed++;
    console.log(`ok - ${desc}`);
}

function notOk(desc, why) {
    failed++;
    console.log(`not ok - ${desc}: ${String(why).replace(/\s+/g, " ").slice(0, 600)}`);
}

function finish() {
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(failed === 0 ? 0 : 1);
}

// A whole-suite deadline: a hung request must not hang ctest.
setTimeout(() => {
    notOk("the suite finishes within 50 s", "timed out");
    finish();
}, 50000).unref();

if (!expectFile) {
    notOk("SESAME_SDK_EXPECT names the expected-values file", "not set");
    finish();
}
const E = JSON.parse(fs.readFileSync(expectFile, "utf8"));

const require = createRequire(path.join(sdkDir, "package.json"));
let sdk;
try {
    sdk = require("@1password/connect");
    const pkg = JSON.parse(
        fs.readFileSync(path.join(sdkDir, "node_modules/@1password/connect/package.json"), "utf8"));
    if (pkg.version !== SDK_VERSION)
        throw new Error(`found version ${pkg.version}, want ${SDK_VERSION}`);
    ok(`@1password/connect ${SDK_VERSION} loads from ${sdkDir}`);
} catch (e) {
    notOk(`@1password/connect ${SDK_VERSION} loads from ${sdkDir}`, e.message);
    finish();
}
const { OnePasswordConnect } = sdk;

function client(token) {
    return OnePasswordConnect({ serverURL: E.serverURL, token, keepAlive: true });
}
const op = client(E.token);

// ---- comparison helpers -------------------------------------------------------------------

// A JSON-shaped copy: class instances become plain objects, undefined keys vanish, Dates
// become ISO strings.
// Errors become {error: message}; what cannot be serialised becomes a short description.
function plain(x) {
    if (x === undefined) return undefined;
    if (x instanceof Error) return { error: x.message };
    try {
        return JSON.parse(JSON.stringify(x));
    } catch (e) {
        return `[${x && x.constructor ? x.constructor.name : typeof x}: ${e.message}]`;
    }
}

function iso(t) {
    return t === undefined || t === null ? t : new Date(t).toISOString();
}

// Canonical JSON (object keys sorted, arrays in order), for comparisons and messages.
function show(x) {
    const canon = (v) => {
        if (Array.isArray(v)) return v.map(canon);
        if (v && typeof v === "object" && !(v instanceof Date) && !Buffer.isBuffer(v)) {
            const o = {};
            for (const k of Object.keys(v).sort()) o[k] = canon(v[k]);
            return o;
        }
        return v;
    };
    return x === undefined ? "undefined" : JSON.stringify(canon(x));
}

function same(a, b) {
    return show(a) === show(b);
}

// expect DESC EXPECTED GOT: records ok when GOT (made plain) equals EXPECTED.
function expect(desc, want, got) {
    const g = plain(got);
    if (same(want, g)) ok(desc);
    else notOk(desc, `expected ${show(want)}, got ${show(g)}`);
}

function expectTrue(desc, cond, detail) {
    if (cond) ok(desc);
    else notOk(desc, detail || "false");
}

// The vault as the SDK's Vault model holds it, from the hub's (CLI's) JSON or an SDK Vault.
// contentVersion is the Connect server's own count (docs/volume.md: it grows with every
// item change the server applied and may differ from the hub's), so it is replaced by
// whether it is an integer at least the hub's.
function vaultView(v, hub) {
    const cv = v.contentVersion;
    const floor = (hub || v).contentVersion;
    return {
        id: v.id,
        name: v.name,
        description: v.description,
        attributeVersion: v.attributeVersion,
        contentVersion: Number.isInteger(cv) && cv >= floor ? `>= ${floor}` : cv,
        items: v.items,
        type: v.type,
        createdAt: iso(v.createdAt),
        updatedAt: iso(v.updatedAt),
    };
}

// What the SDK returned, as vaultView of it against the hub's vault (errors stay as they are).
function gotVault(got, hub) {
    return got instanceof sdk.Vault ? vaultView(got, hub) : plain(got);
}

function gotVaults(got, hub) {
    return Array.isArray(got) ? got.map((v) => gotVault(v, hub)) : plain(got);
}

function urlView(u) {
    return { label: u.label, primary: u.primary, href: u.href };
}

// An item summary (the attributes of the SDK's Item model), from either the expected JSON
// or an SDK object.
function summaryView(it) {
    return plain({
        id: it.id,
        title: it.title,
        vault: it.vault ? { id: it.vault.id } : undefined,
        category: it.category,
        urls: it.urls ? it.urls.map(urlView) : undefined,
        favorite: it.favorite,
        tags: it.tags,
        version: it.version,
        trashed: it.trashed,
        createdAt: iso(it.createdAt),
        updatedAt: iso(it.updatedAt),
        lastEditedBy: it.lastEditedBy,
    });
}

function fileView(f) {
    return plain({
        id: f.id,
        name: f.name,
        size: f.size,
        content_path: f.content_path,
        content: f.content,
        section: f.section ? { id: f.section.id } : undefined,
    });
}

// The FullItem minus the OTP codes (which change with time; checked on their own).
function fullView(it) {
    return plain({
        ...summaryView(it),
        sections: it.sections ? it.sections.map((s) => ({ id: s.id, label: s.label })) : undefined,
        fields: it.fields
            ? it.fields.map((f) => ({
                  id: f.id,
                  section: f.section ? { id: f.section.id } : undefined,
                  type: f.type,
                  purpose: f.purpose,
                  label: f.label,
                  value: f.value,
                  entropy: f.entropy,
              }))
            : undefined,
        files: it.files ? it.files.map(fileView) : undefined,
    });
}

// check DESC FN: runs FN (async); a throw or rejection is a failure.
async function check(desc, fn) {
    try {
        await fn();
        ok(desc);
    } catch (e) {
        notOk(desc, e && e.message ? e.message : show(e));
    }
}

function assertSame(what, want, got) {
    const g = plain(got);
    if (!same(want, g)) throw new Error(`${what}: expected ${show(want)}, got ${show(g)}`);
}

async function readStream(s) {
    const chunks = [];
    for await (const c of s) chunks.push(Buffer.from(c));
    return Buffer.concat(chunks);
}

// rejects DESC PROMISE WANT: the promise rejects with exactly WANT ({status, message}). The
// SDK rejects with the parsed error body (or, for stream requests, the body as a stream).
async function rejects(desc, promise, want) {
    let got;
    try {
        const v = await promise;
        notOk(desc, `resolved instead of rejecting: ${show(plain(v))}`.slice(0, 300));
        return;
    } catch (e) {
        got = e;
    }
    try {
        if (got && typeof got.pipe === "function") got = JSON.parse((await readStream(got)).toString());
    } catch (e) {
        notOk(desc, `the error stream is not JSON: ${e.message}`);
        return;
    }
    if (same(want, plain(got))) ok(desc);
    else notOk(desc, `expected rejection ${show(want)}, got ${show(plain(got))}`);
}

// ---- TOTP (RFC 6238, SHA-1, 30 s, 6 digits) ---------------------------------------------------

function base32Decode(s) {
    const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let bits = 0;
    let acc = 0;
    const out = [];
    for (const ch of s.replace(/=+$/, "").toUpperCase()) {
        const v = alpha.indexOf(ch);
        if (v < 0) throw new Error(`bad base32 character ${ch}`);
        acc = (acc << 5) | v;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            out.push((acc >> bits) & 0xff);
        }
    }
    return Buffer.from(out);
}

function hotp(key, counter, digits) {
    const msg = Buffer.alloc(8);
    msg.writeBigUInt64BE(BigInt(counter));
    const mac = crypto.createHmac("sha1", key).update(msg).digest();
    const off = mac[mac.length - 1] & 0x0f;
    const bin = (mac.readUInt32BE(off) & 0x7fffffff) % 10 ** digits;
    return String(bin).padStart(digits, "0");
}

function totp(key, unixSeconds, digits = 6) {
    return hotp(key, Math.floor(unixSeconds / 30), digits);
}

// The codes acceptable for a code read between t0 and t1 (one window either side).
function totpWindow(key, t0, t1) {
    const codes = new Set();
    for (let t = t0 - 30; t <= t1 + 30; t += 15) codes.add(totp(key, t));
    codes.add(totp(key, t1 + 30));
    return codes;
}

function now() {
    return Date.now() / 1000;
}

// ---- the checks ------------------------------------------------------------------------------

const V = E.vaults;
const I = E.items;
const files = I.files.files;
const fileA = files.find((f) => f.name === "a.txt");
const fileB = files.find((f) => f.name === "b.bin");
const fileEmpty = files.find((f) => f.name === "empty.txt");
const bytesOf = (f) => fs.readFileSync(E.filePaths[f.name]);
const otpKey = base32Decode(E.otpSecret);
const msg = {
    token: { status: 401, message: "Invalid bearer token" },
    scope: { status: 403, message: "Authorization: token does not have access to vault" },
    read: { status: 403, message: "Authorization: token does not have read access to vault" },
    badVault: { status: 400, message: "Invalid Vault UUID" },
    badItem: { status: 400, message: "Invalid Item UUID" },
    badFile: { status: 400, message: "Invalid File UUID" },
    noVault: { status: 404, message: "vault not found" },
    noItem: { status: 404, message: "item not found" },
    noFile: { status: 404, message: "file not found" },
    // synthesised by the SDK itself (lib/utils/error.js) from the list it got
    sdkNoVault: { status: 404, message: "No Vaults found with title" },
    sdkManyVaults: {
        status: 400,
        message: "Found multiple Vaults with given title. Provide a more specific Vault title",
    },
    sdkNoItem: { status: 404, message: "No Items found with title" },
    sdkManyItems: {
        status: 400,
        message: "Found multiple Items with given title. Provide a more specific Item title",
    },
};
const ids = (list) => (Array.isArray(list) ? list.map((x) => x && x.id) : plain(list));
const sorted = (a) => [...a].sort();
const upper = (s) => s.toUpperCase();

async function main() {
    // The TOTP implementation of this test, on the published vectors.
    const rfcKey = Buffer.from("12345678901234567890");
    expect("HOTP (RFC 4226 appendix D), counter 0 and 9", ["755224", "520489"],
           [hotp(rfcKey, 0, 6), hotp(rfcKey, 9, 6)]);
    expect("TOTP (RFC 6238 appendix B, SHA-1) at 59 and 1111111109", ["94287082", "07081804"],
           [totp(rfcKey, 59, 8), totp(rfcKey, 1111111109, 8)]);

    // ---- vaults ----
    const wantVaultsHub = E.visibleVaults.map((k) => V[k]);
    const wantVaults = wantVaultsHub.map((v) => vaultView(v));
    await check("listVaults: exactly the vaults of the token's scope granted to the server",
        async () => {
            const got = await op.listVaults();
            assertSame("vault ids", sorted(wantVaults.map((v) => v.id)), sorted(ids(got)));
            for (const v of got)
                assertSame(`vault ${v.id}`, wantVaults.find((w) => w.id === v.id),
                           vaultView(v, wantVaultsHub.find((w) => w.id === v.id)));
        });
    await check("listVaults: every vault is a Vault with id, name, versions, items, type, dates",
        async () => {
            const got = await op.listVaults();
            for (const v of got) {
                if (!(v instanceof sdk.Vault)) throw new Error(`${v.id} is not a Vault`);
                if (!(v.createdAt instanceof Date) || isNaN(v.createdAt) || isNaN(v.updatedAt))
                    throw new Error(`${v.id}: dates ${show(v.createdAt)} ${show(v.updatedAt)}`);
                if (!/^[a-z0-9]{26}$/.test(v.id)) throw new Error(`id ${v.id}`);
            }
        });
    expect("listVaultsByTitle: exact title", [vaultView(V.alpha)],
           gotVaults(await op.listVaultsByTitle(V.alpha.name).catch((e) => e), V.alpha));
    expect("listVaultsByTitle: title in another case", [V.alpha.id],
           ids(await op.listVaultsByTitle(upper(V.alpha.name)).catch(() => [])));
    expect("listVaultsByTitle: a title two vaults share", sorted([V.dup1.id, V.dup2.id]),
           sorted(ids(await op.listVaultsByTitle(V.dup1.name).catch(() => []))));
    expect("listVaultsByTitle: an unknown title -> []", [],
           await op.listVaultsByTitle("no such vault").catch((e) => e));
    expect("listVaultsByTitle: a vault outside the token's scope -> []", [],
           await op.listVaultsByTitle(V.scoped.name).catch((e) => e));
    expect("listVaultsByTitle: a vault not granted to the server -> []", [],
           await op.listVaultsByTitle(V.ungranted.name).catch((e) => e));
    expect("listVaultsByTitle: a prefix is not a match -> []", [],
           await op.listVaultsByTitle(V.alpha.name.slice(0, 5)).catch((e) => e));

    expect("getVault by id", vaultView(V.alpha),
           gotVault(await op.getVault(V.alpha.id).catch((e) => e), V.alpha));
    expect("getVault by title", vaultView(V.beta),
           gotVault(await op.getVault(V.beta.name).catch((e) => e), V.beta));
    expect("getVaultById", vaultView(V.alpha),
           gotVault(await op.getVaultById(V.alpha.id).catch((e) => e), V.alpha));
    expect("getVaultById: a second vault", vaultView(V.beta),
           gotVault(await op.getVaultById(V.beta.id).catch((e) => e), V.beta));
    expect("getVaultById: the vault's items count is its active items",
           E.alphaOrder.length, (await op.getVaultById(V.alpha.id).catch(() => ({}))).items);
    await rejects("getVaultById: a vault granted to the server but not in the token -> 403",
                  op.getVaultById(V.scoped.id), msg.scope);
    await rejects("getVaultById: an unknown well-formed id (so not in the token) -> 403",
                  op.getVaultById(E.unknownId), msg.scope);
    await rejects("getVaultById: a vault of the token deleted at the hub -> 404",
                  op.getVaultById(V.gone.id), msg.noVault);
    await rejects("getVaultById: an uppercase id -> 400", op.getVaultById(upper(V.alpha.id)),
                  msg.badVault);
    expect("getVaultByTitle", vaultView(V.alpha),
           gotVault(await op.getVaultByTitle(V.alpha.name).catch((e) => e), V.alpha));
    expect("getVaultByTitle: title in another case", V.beta.id,
           (await op.getVaultByTitle(upper(V.beta.name)).catch(() => ({}))).id);
    await rejects("getVaultByTitle: a title two vaults share -> 400 (SDK)",
                  op.getVaultByTitle(V.dup1.name), msg.sdkManyVaults);
    await rejects("getVaultByTitle: an unknown title -> 404 (SDK)",
                  op.getVaultByTitle("no such vault"), msg.sdkNoVault);
    await rejects("getVaultByTitle: a vault outside the token's scope -> 404 (SDK)",
                  op.getVaultByTitle(V.scoped.name), msg.sdkNoVault);

    // ---- items ----
    const wantSummaries = E.alphaOrder.map((k) => summaryView(I[k]));
    await check("listItems: the active items, oldest first, as summaries", async () => {
        const got = await op.listItems(V.alpha.id);
        assertSame("item ids", wantSummaries.map((s) => s.id), ids(got));
        got.forEach((it, i) => assertSame(`summary ${it.id}`, wantSummaries[i], summaryView(it)));
    });
    expect("listItems: a deleted item is not listed", false,
           ids(await op.listItems(V.alpha.id).catch(() => [])).includes(I.deleted.id));
    expect("listItems: a second vault", [I.betaItem.id, I.betaNeedle.id],
           ids(await op.listItems(V.beta.id).catch((e) => e)));
    expect("listItems: an empty vault -> []", [], await op.listItems(V.dup1.id).catch((e) => e));
    await rejects("listItems: a vault outside the token's scope -> 403", op.listItems(V.scoped.id),
                  msg.scope);
    await rejects("listItems: a vault of the token deleted at the hub -> 404",
                  op.listItems(V.gone.id), msg.noVault);
    await rejects("listItems: a malformed vault id -> 400", op.listItems("not-a-vault-id"),
                  msg.badVault);

    const full = (k) => fullView(I[k]);
    await check("listItemsByTitle: one match, as a FullItem", async () => {
        const got = await op.listItemsByTitle(V.alpha.id, I.login.title);
        assertSame("items", [full("login")], got.map(fullView));
    });
    expect("listItemsByTitle: title in another case", [I.login.id],
           ids(await op.listItemsByTitle(V.alpha.id, upper(I.login.title)).catch(() => [])));
    await check("listItemsByTitle: a title two items share -> both, full", async () => {
        const got = await op.listItemsByTitle(V.alpha.id, I.dup1.title);
        assertSame("items", [full("dup1"), full("dup2")], got.map(fullView));
    });
    expect("listItemsByTitle: an unknown title -> []", [],
           await op.listItemsByTitle(V.alpha.id, "no such item").catch((e) => e));
    expect("listItemsByTitle: a title of another vault's item -> []", [],
           await op.listItemsByTitle(V.alpha.id, I.betaItem.title).catch((e) => e));
    expect("listItemsByTitle: the title of a deleted item -> []", [],
           await op.listItemsByTitle(V.alpha.id, I.deleted.title).catch((e) => e));
    expect("listItemsByTitle: a substring is not a match -> []", [],
           await op.listItemsByTitle(V.alpha.id, "needle").catch((e) => e));

    await check("listItemsByTitleContains: a substring in any case, full items, in order",
        async () => {
            const got = await op.listItemsByTitleContains(V.alpha.id, "needle");
            assertSame("items", [full("needle1"), full("needle2")], got.map(fullView));
        });
    expect("listItemsByTitleContains: a common prefix", ["login", "files", "dup1", "dup2"]
               .map((k) => I[k].id),
           ids(await op.listItemsByTitleContains(V.alpha.id, "sdk ").catch((e) => e)));
    expect("listItemsByTitleContains: the whole title", [I.login.id],
           ids(await op.listItemsByTitleContains(V.alpha.id, I.login.title).catch((e) => e)));
    expect("listItemsByTitleContains: no match -> []", [],
           await op.listItemsByTitleContains(V.alpha.id, "zzz-nothing").catch((e) => e));
    expect("listItemsByTitleContains: in the second vault", [I.betaNeedle.id],
           ids(await op.listItemsByTitleContains(V.beta.id, "NEEDLE").catch((e) => e)));
    await rejects("listItemsByTitleContains: a vault outside the token's scope -> 403",
                  op.listItemsByTitleContains(V.scoped.id, "x"), msg.scope);

    expect("getItem by id", full("login"),
           fullView(await op.getItem(V.alpha.id, I.login.id).catch(() => ({}))));
    expect("getItem by title", full("files"),
           fullView(await op.getItem(V.alpha.id, I.files.title).catch(() => ({}))));
    await rejects("getItem: a title two items share -> 400 (SDK)",
                  op.getItem(V.alpha.id, I.dup1.title), msg.sdkManyItems);
    await rejects("getItem: an unknown well-formed id -> 404", op.getItem(V.alpha.id, E.unknownId),
                  msg.noItem);

    const t0 = now();
    const login = await op.getItemById(V.alpha.id, I.login.id).catch((e) => e);
    const t1 = now();
    expect("getItemById: the FullItem", full("login"), fullView(login));
    expect("getItemById: id, title, vault.id, category",
           [I.login.id, "sdk login", V.alpha.id, "LOGIN"],
           [login.id, login.title, login.vault && login.vault.id, login.category]);
    expect("getItemById: tags, in order", ["web", "prod"], login.tags);
    expect("getItemById: urls", [
        { label: "website", primary: true, href: "https://login.example.com" },
        { href: "https://alt.example.com" },
    ], login.urls);
    expect("getItemById: version 1, lastEditedBy the account", [1, E.account],
           [login.version, login.lastEditedBy]);
    const fld = (it, id) => (it.fields || []).find((f) => f.id === id) || {};
    expect("getItemById: username", ["USERNAME", "STRING", "alice"],
           [fld(login, "username").purpose, fld(login, "username").type,
            fld(login, "username").value]);
    expect("getItemById: password (CONCEALED, non-ASCII)", ["PASSWORD", "CONCEALED", "p4ss w0rd é"],
           [fld(login, "password").purpose, fld(login, "password").type,
            fld(login, "password").value]);
    expect("getItemById: a field in a section", [{ id: "s1" }, "comment", "in a section"],
           [fld(login, "note1").section, fld(login, "note1").label, fld(login, "note1").value]);
    expect("getItemById: sections", [{ id: "s1", label: "extra" }], login.sections);
    const otpField = (login.fields || []).find((f) => f.type === "OTP") || {};
    expect("getItemById: the OTP field (type OTP, label otp, the otpauth URI)",
           ["otp", E.otpUri], [otpField.label, otpField.value]);
    expectTrue("getItemById: the OTP field's code is the TOTP of its secret now",
               /^[0-9]{6}$/.test(otpField.otp || "") &&
                   totpWindow(otpKey, t0, t1).has(otpField.otp),
               `got ${show(otpField.otp)}, want one of ${show([...totpWindow(otpKey, t0, t1)])}`);
    expect("getItemById: extractOTP() gives that code", otpField.otp,
           typeof login.extractOTP === "function" ? login.extractOTP() : undefined);
    expect("getItemById: an item with files lists them (id, name, size, content_path)",
           files.map(fileView), ((await op.getItemById(V.alpha.id, I.files.id).catch(() => ({})))
               .files || []).map(fileView));
    await check("getItemById: 20 in parallel over keep-alive connections, all identical",
        async () => {
            const all = await Promise.all(Array.from({ length: 20 }, (_, i) =>
                op.getItemById(V.alpha.id, i % 2 ? I.files.id : I.login.id)));
            all.forEach((it, i) =>
                assertSame(`request ${i}`, i % 2 ? full("files") : full("login"), fullView(it)));
        });
    await rejects("getItemById: a deleted item -> 404", op.getItemById(V.alpha.id, I.deleted.id),
                  msg.noItem);
    await rejects("getItemById: an unknown well-formed id -> 404",
                  op.getItemById(V.alpha.id, E.unknownId), msg.noItem);
    await rejects("getItemById: an item of another vault -> 404",
                  op.getItemById(V.beta.id, I.login.id), msg.noItem);
    await rejects("getItemById: an uppercase item id -> 400",
                  op.getItemById(V.alpha.id, upper(I.login.id)), msg.badItem);
    await rejects("getItemById: an uppercase vault id -> 400 (vault checked first)",
                  op.getItemById(upper(V.alpha.id), upper(I.login.id)), msg.badVault);
    await rejects("getItemById: a vault outside the token's scope -> 403",
                  op.getItemById(V.scoped.id, I.scopedItem.id), msg.scope);

    expect("getItemByTitle", full("login"),
           fullView(await op.getItemByTitle(V.alpha.id, I.login.title).catch(() => ({}))));
    expect("getItemByTitle: title in another case", I.files.id,
           (await op.getItemByTitle(V.alpha.id, upper(I.files.title)).catch(() => ({}))).id);
    await rejects("getItemByTitle: a title two items share -> 400 (SDK)",
                  op.getItemByTitle(V.alpha.id, I.dup1.title), msg.sdkManyItems);
    await rejects("getItemByTitle: an unknown title -> 404 (SDK)",
                  op.getItemByTitle(V.alpha.id, "no such item"), msg.sdkNoItem);
    await rejects("getItemByTitle: the title of a deleted item -> 404 (SDK)",
                  op.getItemByTitle(V.alpha.id, I.deleted.title), msg.sdkNoItem);
    await rejects("getItemByTitle: a vault outside the token's scope -> 403",
                  op.getItemByTitle(V.scoped.id, I.scopedItem.title), msg.scope);

    for (const [how, q] of [["by title", I.login.title], ["by id", I.login.id]]) {
        const a = now();
        const code = await op.getItemOTP(V.alpha.id, q).catch((e) => e);
        const b = now();
        expectTrue(`getItemOTP ${how}: 6 digits, the TOTP of the secret now`,
                   typeof code === "string" && /^[0-9]{6}$/.test(code) &&
                       totpWindow(otpKey, a, b).has(code),
                   `got ${show(plain(code))}, want one of ${show([...totpWindow(otpKey, a, b)])}`);
    }
    await rejects("getItemOTP: an item without an OTP field rejects (SDK)",
                  op.getItemOTP(V.alpha.id, I.files.id),
                  { error: `No OTP found for the Item ${I.files.id}` });
    await rejects("getItemOTP: a title two items share -> 400 (SDK)",
                  op.getItemOTP(V.alpha.id, I.dup1.title), msg.sdkManyItems);

    // ---- files ----
    const wantFiles = files.map(fileView);
    expect("listFiles by ids", wantFiles,
           ((await op.listFiles(V.alpha.id, I.files.id).catch(() => null)) || [null])
               .map((f) => f && fileView(f)));
    expect("listFiles by vault and item titles", wantFiles,
           ((await op.listFiles(V.alpha.name, I.files.title).catch(() => null)) || [null])
               .map((f) => f && fileView(f)));
    expect("listFiles: content_path starts with /v1/vaults/ and ends with /content", true,
           wantFiles.every((f) => f.content_path ===
               `/v1/vaults/${V.alpha.id}/items/${I.files.id}/files/${f.id}/content`));
    expect("listFiles: an item without files -> []", [],
           await op.listFiles(V.alpha.id, I.login.id).catch((e) => e));
    await rejects("listFiles: a deleted item -> 404", op.listFiles(V.alpha.id, I.deleted.id),
                  msg.noItem);
    await rejects("listFiles: an item title two items share -> 400 (SDK)",
                  op.listFiles(V.alpha.id, I.dup1.title), msg.sdkManyItems);
    await rejects("listFiles: a vault title two vaults share -> 400 (SDK)",
                  op.listFiles(V.dup1.name, I.files.title), msg.sdkManyVaults);
    await rejects("listFiles: a vault outside the token's scope -> 403",
                  op.listFiles(V.scoped.id, I.scopedItem.id), msg.scope);

    for (const f of [fileA, fileB, fileEmpty])
        expect(`getFileById ${f.name}`, fileView(f),
               fileView(await op.getFileById(V.alpha.id, I.files.id, f.id).catch(() => ({}))));
    expect("getFileById by vault and item titles", fileView(fileB),
           fileView(await op.getFileById(V.alpha.name, I.files.title, fileB.id)
               .catch(() => ({}))));
    await rejects("getFileById: an unknown file id -> 404",
                  op.getFileById(V.alpha.id, I.files.id, E.unknownId), msg.noFile);
    await rejects("getFileById: a file of another item -> 404",
                  op.getFileById(V.alpha.id, I.login.id, fileA.id), msg.noFile);
    await rejects("getFileById: an uppercase file id -> 400",
                  op.getFileById(V.alpha.id, I.files.id, upper(fileA.id)), msg.badFile);

    expect("getFileContent: a UTF-8 text file, exactly", bytesOf(fileA).toString("utf8"),
           await op.getFileContent(V.alpha.id, I.files.id, fileA.id).catch((e) => e));
    expect("getFileContent: an empty file -> \"\"", "",
           await op.getFileContent(V.alpha.id, I.files.id, fileEmpty.id).catch((e) => e));
    expect("getFileContent by vault and item titles", bytesOf(fileA).toString("utf8"),
           await op.getFileContent(V.alpha.name, I.files.title, fileA.id).catch((e) => e));
    await rejects("getFileContent: an unknown file id -> 404 (the body, as a stream)",
                  op.getFileContent(V.alpha.id, I.files.id, E.unknownId), msg.noFile);
    for (const f of [fileB, fileA, fileEmpty]) {
        await check(`getFileContentStream ${f.name}: the same ${f.size} bytes`, async () => {
            const got = await readStream(
                await op.getFileContentStream(V.alpha.id, I.files.id, f.id));
            const want = bytesOf(f);
            if (got.length !== f.size || !got.equals(want))
                throw new Error(`got ${got.length} bytes (sha256 ${sha(got)}), ` +
                                `want ${want.length} (sha256 ${sha(want)})`);
        });
    }
    await check("getFileContentStream by vault and item titles", async () => {
        const got = await readStream(
            await op.getFileContentStream(V.alpha.name, I.files.title, fileB.id));
        if (!got.equals(bytesOf(fileB))) throw new Error(`got ${got.length} different bytes`);
    });
    await rejects("getFileContentStream: a file of another item -> 404 (as a stream)",
                  op.getFileContentStream(V.alpha.id, I.login.id, fileB.id), msg.noFile);
    await rejects("getFileContentStream: a vault outside the token's scope -> 403",
                  op.getFileContentStream(V.scoped.id, I.scopedItem.id, fileB.id), msg.scope);

    // ---- tokens ----
    for (const [what, tok] of Object.entries(E.badTokens))
        await rejects(`listVaults with ${what} -> 401 Invalid bearer token`,
                      client(tok).listVaults(), msg.token);
    await rejects("getItemById with a token of another server -> 401",
                  client(E.badTokens["a token of another Connect server"])
                      .getItemById(V.alpha.id, I.login.id), msg.token);
    await rejects("getFileContentStream with a malformed token -> 401",
                  client("x").getFileContentStream(V.alpha.id, I.files.id, fileA.id), msg.token);

    const narrow = client(E.narrowToken);
    expect("a token for one vault: listVaults shows that vault only", [V.alpha.id],
           ids(await narrow.listVaults().catch(() => [])));
    await rejects("a token for one vault: getVaultById of another -> 403",
                  narrow.getVaultById(V.beta.id), msg.scope);
    await rejects("a token for one vault: getVaultByTitle of another -> 404 (SDK)",
                  narrow.getVaultByTitle(V.beta.name), msg.sdkNoVault);
    expect("a token for one vault: getItemById in it", I.login.id,
           (await narrow.getItemById(V.alpha.id, I.login.id).catch(() => ({}))).id);

    const wo = client(E.writeOnlyToken);
    expect("a write-only token: listVaults shows its vault", [V.beta.id],
           ids(await wo.listVaults().catch(() => [])));
    expect("a write-only token: getVaultById of its vault", vaultView(V.beta),
           gotVault(await wo.getVaultById(V.beta.id).catch((e) => e), V.beta));
    await rejects("a write-only token: listItems -> 403 (no read access)",
                  wo.listItems(V.beta.id), msg.read);
    await rejects("a write-only token: getItemById -> 403 (no read access)",
                  wo.getItemById(V.beta.id, I.betaItem.id), msg.read);
    await rejects("a write-only token: getItemByTitle -> 403 (no read access)",
                  wo.getItemByTitle(V.beta.id, I.betaItem.title), msg.read);
}

function sha(b) {
    return crypto.createHash("sha256").update(b).digest("hex").slice(0, 16);
}

main().then(finish, (e) => {
    notOk("the suite runs to the end", e && e.stack ? e.stack : show(e));
    finish();
});

// conformance_write.mjs - the official 1Password Connect JS SDK (@1password/connect 1.4.2)
// against two running Connect servers (`sesame sync` + `sesame api` each) of one account:
// every WRITE method of the SDK (createItem, updateItem, deleteItem, deleteItemById,
// deleteItemByTitle) and the ItemBuilder (generated passwords, recipes), with the exact values
// they return, what they send, how they fail, and what both servers serve afterwards (server
// A, the one written to, at once: read-your-writes; server B through the hub's change feed,
// within 5 s). Run by tests/integration/connect_sdk_write.sh, which builds the account and
// writes the parameters to a JSON file:
//
//   SESAME_SDK_EXPECT=expected.json SESAME_JS_DIR=<dir holding node_modules> \
//       node conformance_write.mjs
//
// SESAME_JS_DIR defaults to this directory (`npm install` here, see package.json). Prints one
// "ok - ..." / "not ok - ..." line per check ("# ..." lines are notes), then
// "N passed, N failed"; exits 1 on a failure.
import { createRequire } from "node:module";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const SDK_VERSION = "1.4.2";
const here = path.dirname(fileURLToPath(import.meta.url));
const sdkDir = process.env.SESAME_JS_DIR || here;
const expectFile = process.env.SESAME_SDK_EXPECT;
const PROPAGATION_MS = 5000; // how long server B may take to show a write

let passed = 0;
let failed = 0;

function ok(desc) {
    passed++;
    console.log(`ok - ${desc}`);
}

function notOk(desc, why) {
    failed++;
    console.log(`not ok - ${desc}: ${String(why).replace(/\s+/g, " ").slice(0, 700)}`);
}

function note(text) {
    console.log(`# ${String(text).replace(/\s+/g, " ")}`);
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
    notOk("SESAME_SDK_EXPECT names the parameters file", "not set");
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
const { OnePasswordConnect, ItemBuilder, FullItem, FieldType, FieldPurpose, ItemCategory } = sdk;

// A client that also records what the SDK sends: c.sent holds {method, path, data} per
// request (data as JSON would carry it). The recorder wraps the SDK's own HTTP client
// (axios), so the requests are exactly the SDK's.
function client(serverURL, token) {
    const inner = OnePasswordConnect({ serverURL, token, keepAlive: true }).httpAdapter.client;
    const sent = [];
    const c = OnePasswordConnect({
        serverURL,
        token,
        httpClient: {
            request(method, url, opts) {
                sent.push({
                    method: method.toUpperCase(),
                    path: new URL(url).pathname,
                    data: opts.data === undefined ? undefined : plain(opts.data),
                });
                return inner.request(method, url, opts);
            },
        },
    });
    c.sent = sent;
    c.last = () => sent[sent.length - 1] || {};
    return c;
}

// ---- comparison helpers -------------------------------------------------------------------

// A JSON-shaped copy: class instances become plain objects, undefined keys vanish, Dates
// become ISO strings; errors become {error: message}.
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
        if (v && typeof v === "object" && !(v instanceof Date)) {
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

function expect(desc, want, got) {
    const g = plain(got);
    if (same(want, g)) ok(desc);
    else notOk(desc, `expected ${show(want)}, got ${show(g)}`);
}

function expectTrue(desc, cond, detail) {
    if (cond) ok(desc);
    else notOk(desc, detail || "false");
}

// check DESC FN: runs FN (async); a throw or rejection is a failure.
async function check(desc, fn) {
    try {
        await fn();
        ok(desc);
    } catch (e) {
        notOk(desc, e && e.message ? e.message : show(plain(e)));
    }
}

function assert(cond, why) {
    if (!cond) throw new Error(why);
}

function assertSame(what, want, got) {
    const g = plain(got);
    if (!same(want, g)) throw new Error(`${what}: expected ${show(want)}, got ${show(g)}`);
}

// The SDK rejects with the parsed error body ({status, message}) or a thrown Error.
async function outcome(promise) {
    try {
        return { value: await promise };
    } catch (e) {
        return { error: plain(e) };
    }
}

// rejects DESC PROMISE WANT: the promise rejects with exactly WANT ({status, message}); with
// WANT.message === undefined, any non-empty message string is accepted.
async function rejects(desc, promise, want) {
    const r = await outcome(promise);
    if (!("error" in r)) {
        notOk(desc, `resolved instead of rejecting: ${show(plain(r.value))}`.slice(0, 400));
        return false;
    }
    const got = r.error;
    const anyMessage = want.message === undefined;
    const good = anyMessage
        ? got && got.status === want.status && typeof got.message === "string" &&
              got.message.length > 0 && Object.keys(got).length === 2
        : same(want, got);
    if (good) {
        ok(desc);
        if (anyMessage) note(`${desc}: the message is ${JSON.stringify(got.message)}`);
    } else
        notOk(desc, `expected rejection ${anyMessage ? `{status: ${want.status}, message: "..."}`
                                                     : show(want)}, got ${show(got)}`);
    return good;
}

// Throws-synchronously-or-rejects check for the SDK's own validation.
async function throwsWith(desc, fn, name, message) {
    try {
        await fn();
        notOk(desc, "did not throw");
    } catch (e) {
        if (e instanceof Error && e.name === name && e.message === message) ok(desc);
        else notOk(desc, `expected ${name}: ${message}, got ${show(plain(e))} (${e && e.name})`);
    }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// eventually MS FN: calls FN every 100 ms until it returns {done: true, ...} (a throw counts
// as not done); returns {done, ms, last} where last is FN's last result or {error}.
async function eventually(ms, fn) {
    const t0 = Date.now();
    let last;
    for (;;) {
        try {
            last = await fn();
        } catch (e) {
            last = { done: false, error: plain(e) };
        }
        if (last && last.done) return { done: true, ms: Date.now() - t0, last };
        if (Date.now() - t0 >= ms) return { done: false, ms: Date.now() - t0, last };
        await sleep(100);
    }
}

// ---- item views -------------------------------------------------------------------------------

function urlView(u) {
    return { label: u.label, primary: u.primary ? true : undefined, href: u.href };
}

// The FullItem as compared between servers and answers (OTP codes change with time: left out).
function fullView(it) {
    if (!it || typeof it !== "object" || !("id" in it)) return plain(it);
    return plain({
        id: it.id,
        title: it.title,
        vault: it.vault ? { id: it.vault.id } : undefined,
        category: it.category,
        urls: it.urls ? it.urls.map(urlView) : undefined,
        favorite: it.favorite ? true : undefined,
        tags: it.tags,
        version: it.version,
        createdAt: iso(it.createdAt),
        updatedAt: iso(it.updatedAt),
        lastEditedBy: it.lastEditedBy,
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
        files: it.files,
    });
}

const withVersion = (view, version) => ({ ...view, version });
const byLabel = (it, label) => ((it && it.fields) || []).find((f) => f.label === label);
const byPurpose = (it, p) => ((it && it.fields) || []).find((f) => f.purpose === p);
const ids = (list) => (Array.isArray(list) ? list.map((x) => x && x.id) : plain(list));

// A deep, independent copy of an SDK FullItem (still a FullItem, as the SDK serialises it).
function copyItem(it) {
    return Object.assign(new FullItem(), structuredClone(plain(it)), {
        createdAt: it.createdAt,
        updatedAt: it.updatedAt,
    });
}

// ---- the generator's recipes --------------------------------------------------------------------

const SETS = {
    LETTERS: /^[A-Za-z]$/,
    DIGITS: /^[0-9]$/,
    SYMBOLS: /^[!-/:-@[-`{-~]$/, // printable ASCII that is neither a letter, a digit nor space
};
const setOf = (ch) => Object.keys(SETS).find((k) => SETS[k].test(ch)) || "OTHER";

// The normalised recipe a generated value must obey (connect-api.md §6.6: length 32 and all
// three sets by default).
function recipeRules(recipe) {
    const r = recipe || {};
    return {
        length: r.length || 32,
        sets: r.characterSets && r.characterSets.length ? [...new Set(r.characterSets)]
                                                        : Object.keys(SETS),
        exclude: r.excludeCharacters || "",
    };
}

// What is wrong with value for recipe: [] when the value obeys the length, the allowed sets
// and the excluded characters (the contract). The offending characters are named, never the
// value.
function recipeProblems(value, recipe) {
    const r = recipeRules(recipe);
    if (typeof value !== "string") return [`no value (${show(value)})`];
    const p = [];
    const chars = [...value];
    if (chars.length !== r.length) p.push(`length ${chars.length}, want ${r.length}`);
    const bad = new Set();
    for (const ch of chars) {
        if (!r.sets.includes(setOf(ch))) bad.add(`${JSON.stringify(ch)} (${setOf(ch)})`);
        if (r.exclude.includes(ch)) bad.add(`${JSON.stringify(ch)} (excluded)`);
    }
    if (bad.size) p.push(`characters not allowed: ${[...bad].join(" ")}`);
    return p;
}

// The sets a value lacks among those its recipe requested (Sesame guarantees one of each,
// docs/data-model-generator.md; Connect's own generator is not public).
function missingSets(value, recipe) {
    const r = recipeRules(recipe);
    const present = new Set([...(value || "")].map(setOf));
    return r.sets.filter((s) => !present.has(s));
}

// An upper bound of any sensible entropy for recipe: length * log2(allowed characters), with
// SYMBOLS counted as all 32 ASCII punctuation characters.
function entropyBound(recipe) {
    const r = recipeRules(recipe);
    const sizes = { LETTERS: 52, DIGITS: 10, SYMBOLS: 32 };
    let n = r.sets.reduce((a, s) => a + sizes[s], 0);
    for (const ch of new Set(r.exclude)) if (r.sets.includes(setOf(ch))) n--;
    return r.length * Math.log2(n);
}

function generatedChecks(desc, field, recipe) {
    const value = field && field.value;
    const p = recipeProblems(value, recipe);
    expectTrue(`${desc}: the generated value obeys the recipe (length, sets, excluded characters)`,
               p.length === 0, p.join("; "));
    const miss = missingSets(value, recipe);
    expectTrue(`${desc}: the generated value holds a character of every requested set`,
               miss.length === 0, `none of ${miss.join(", ")}`);
    const e = field && field.entropy;
    expectTrue(`${desc}: entropy is present, positive, at most length * log2(alphabet)`,
               typeof e === "number" && e > 0 && e <= entropyBound(recipe) + 1e-9,
               `entropy ${show(e)}, bound ${entropyBound(recipe).toFixed(3)}`);
}

// ---- TOTP (RFC 6238, SHA-1, 30 s, 6 digits) ---------------------------------------------------

const OTP_SECRET = "JBSWY3DPEHPK3PXP";
const OTP_URI = `otpauth://totp/sdkw?secret=${OTP_SECRET}`;

function base32Decode(s) {
    const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let bits = 0;
    let acc = 0;
    const out = [];
    for (const ch of s.replace(/=+$/, "").toUpperCase()) {
        acc = (acc << 5) | alpha.indexOf(ch);
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            out.push((acc >> bits) & 0xff);
        }
    }
    return Buffer.from(out);
}

function totp(key, unixSeconds) {
    const msg = Buffer.alloc(8);
    msg.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
    const mac = crypto.createHmac("sha1", key).update(msg).digest();
    const off = mac[mac.length - 1] & 0x0f;
    return String((mac.readUInt32BE(off) & 0x7fffffff) % 1e6).padStart(6, "0");
}

// The codes acceptable for a code read between t0 and t1 (one window either side).
function totpOk(code, t0, t1) {
    const key = base32Decode(OTP_SECRET);
    for (let t = t0 - 30; t <= t1 + 30; t += 10) if (totp(key, t) === code) return true;
    return totp(key, t1 + 30) === code;
}

const now = () => Date.now() / 1000;

// ---- the checks ---------------------------------------------------------------------------------

const MAIN = E.vaults.main;
const SECOND = E.vaults.second;
const RUN = E.run; // a random suffix: titles of this run
const msg = {
    write: { status: 401, message: "Unauthorized Request, token does not have write access to the Vault" },
    scope: { status: 403, message: "Authorization: token does not have access to vault" },
    read: { status: 403, message: "Authorization: token does not have read access to vault" },
    badVault: { status: 400, message: "Invalid Vault UUID" },
    noItem: { status: 404, message: "item not found" },
    conflict: { status: 409, message: undefined },
    invalid: { status: 400, message: undefined },
    sdkNoItem: { status: 404, message: "No Items found with title" },
};

const opA = client(E.serverA, E.tokens.rwA); // read-write on server A
const opB = client(E.serverB, E.tokens.roB); // read-only on server B (read-back)
const opRO = client(E.serverA, E.tokens.roA); // read-only on server A
const opWO = client(E.serverA, E.tokens.woA); // write-only on server A

// readBack DESC ID WANT: server B serves the item with the view WANT within 5 s.
async function readBackB(desc, id, want) {
    const r = await eventually(PROPAGATION_MS, async () => {
        const got = fullView(await opB.getItemById(MAIN, id));
        return { done: same(want, got), got };
    });
    if (r.done) {
        ok(desc);
        note(`server B showed it after ${r.ms} ms`);
    } else {
        notOk(desc, `not within ${PROPAGATION_MS} ms: expected ${show(want)}, last answer ` +
                    `${show(r.last && ("got" in r.last ? r.last.got : r.last.error))}`);
    }
}

// goneB DESC ID: server B answers 404 item not found for the item within 5 s.
async function goneB(desc, id) {
    const r = await eventually(PROPAGATION_MS, async () => {
        const o = await outcome(opB.getItemById(MAIN, id));
        return { done: "error" in o && same(msg.noItem, o.error), o };
    });
    if (r.done) {
        ok(desc);
        note(`server B answered 404 after ${r.ms} ms`);
    } else {
        notOk(desc, `not within ${PROPAGATION_MS} ms; last answer ${show(r.last && r.last.o)}`);
    }
}

async function builderChecks() {
    await throwsWith("ItemBuilder: build() without a category throws",
                     () => new ItemBuilder().setTitle("x").build(), "Error",
                     "Item Category is required.");
    await throwsWith("ItemBuilder: setCategory with an unknown category throws",
                     () => new ItemBuilder().setCategory("NOT_A_CATEGORY"), "TypeError",
                     "Item Category is invalid");
    await throwsWith("ItemBuilder: addField with an unknown character set in the recipe throws",
                     () => new ItemBuilder().addField({ label: "bad", generate: true,
                                                        recipe: { characterSets: ["EMOJI"] } }),
                     "TypeError", "Field 'bad' contains an invalid Recipe.");
    await throwsWith("updateItem without an item id throws (SDK)",
                     () => opA.updateItem(MAIN, new FullItem()), "Error",
                     "Item ID must be defined.");
    await throwsWith("deleteItem without an id or title throws (SDK)",
                     () => opA.deleteItem(MAIN, ""), "Error",
                     "Please provide either the item name or its ID.");
    await check("ItemBuilder: build() resets the builder", async () => {
        const b = new ItemBuilder().setCategory(ItemCategory.Login).setTitle("t").addTag("x");
        b.build();
        let threw = false;
        try {
            b.build();
        } catch (e) {
            threw = e.message === "Item Category is required.";
        }
        assert(threw, "a second build() did not fail for want of a category");
    });
}

// The LOGIN item of the main checks: every builder feature, three generated fields.
const RECIPES = {
    password: { length: 40, characterSets: ["LETTERS", "DIGITS", "LETTERS"],
                excludeCharacters: "0O1lIabcabc" },
    pin: { length: 12, characterSets: ["DIGITS", "SYMBOLS"], excludeCharacters: "13579!#" },
    secret: {},
};
// What the SDK sends for them (it de-duplicates characterSets and excludeCharacters).
const SENT_RECIPES = {
    password: { length: 40, characterSets: ["LETTERS", "DIGITS"], excludeCharacters: "0O1lIabc" },
    pin: { length: 12, characterSets: ["DIGITS", "SYMBOLS"], excludeCharacters: "13579!#" },
    secret: { characterSets: [], excludeCharacters: "" },
};

function loginBuilder(title) {
    return new ItemBuilder()
        .setCategory(ItemCategory.Login)
        .setTitle(title)
        .addTag("sdkw")
        .addTag("web")
        .addUrl({ href: "https://a.example.com/login", primary: true })
        .addUrl({ href: "https://b.example.com" })
        .toggleFavorite()
        .addField({ type: FieldType.String, purpose: FieldPurpose.Username, label: "username",
                    value: "alice" })
        .addField({ type: FieldType.Concealed, purpose: FieldPurpose.Password, label: "password",
                    generate: true, recipe: RECIPES.password })
        .addField({ type: FieldType.Concealed, label: "pin", generate: true, recipe: RECIPES.pin })
        .addField({ type: FieldType.Concealed, label: "secret", generate: true,
                    recipe: RECIPES.secret })
        .addField({ label: "comment", value: "in a section é ✓", sectionName: "Extra Details" })
        .addField({ type: FieldType.Email, label: "email", value: "alice@example.com",
                    sectionName: "extra details" })
        .addField({ type: FieldType.Otp, label: "one-time password", value: OTP_URI });
}

// createItem with everything the builder can do; returns the created item (or null).
async function createChecks(vaultBefore) {
    const title = `sdkw login ${RUN}`;
    const built = loginBuilder(title).build();
    const section = (built.sections || [])[0] || {};
    expect("ItemBuilder: one section for two names with the same slug, id Section_ + 26 hex",
           [1, true, "Extra Details"],
           [built.sections.length, /^Section_[0-9a-f]{26}$/.test(section.id || ""), section.label]);
    expect("ItemBuilder: urls (the primary one marked), favorite, tags",
           [[{ primary: true, href: "https://a.example.com/login" },
             { href: "https://b.example.com" }], true, ["sdkw", "web"]],
           [built.urls, built.favorite, built.tags]);

    const t0 = now();
    const created = await opA.createItem(MAIN, built).catch((e) => e);
    const t1 = now();
    const sent = opA.last();
    expect("createItem sends POST /v1/vaults/{vault}/items/ (trailing slash)",
           ["POST", `/v1/vaults/${MAIN}/items/`], [sent.method, sent.path]);
    expect("createItem sends vault.id, no item id, no version",
           [{ id: MAIN }, undefined, undefined],
           [sent.data && sent.data.vault, sent.data && sent.data.id, sent.data && sent.data.version]);
    expect("createItem sends generate: true and the de-duplicated recipes",
           ["password", "pin", "secret"].map((l) => [true, SENT_RECIPES[l]]),
           ["password", "pin", "secret"].map((l) => {
               const f = byLabel(sent.data, l) || {};
               return [f.generate, f.recipe];
           }));
    expect("createItem sends the builder's section id on the section and its fields",
           [[{ id: section.id, label: "Extra Details" }], { id: section.id }, { id: section.id }],
           [sent.data && sent.data.sections, (byLabel(sent.data, "comment") || {}).section,
            (byLabel(sent.data, "email") || {}).section]);

    const createdOk = created instanceof FullItem;
    expectTrue("createItem resolves with a FullItem", createdOk, show(plain(created)));
    if (!createdOk) return null;
    expectTrue("createItem: a generated item id (26 lowercase alphanumerics)",
               /^[a-z0-9]{26}$/.test(created.id || ""), show(created.id));
    expect("createItem: version 1, vault, title, category, favorite, tags",
           [1, { id: MAIN }, title, "LOGIN", true, ["sdkw", "web"]],
           [created.version, created.vault, created.title, created.category, created.favorite,
            created.tags]);
    expect("createItem: urls (href, primary)",
           [{ primary: true, href: "https://a.example.com/login" },
            { href: "https://b.example.com" }],
           (created.urls || []).map((u) => plain({ primary: u.primary || undefined,
                                                   href: u.href })));
    expectTrue("createItem: createdAt = updatedAt = now, lastEditedBy an uppercase id",
               created.createdAt instanceof Date && !isNaN(created.createdAt) &&
                   Math.abs(created.createdAt.getTime() / 1000 - t0) < 60 &&
                   iso(created.createdAt) === iso(created.updatedAt) &&
                   /^[A-Z0-9]{26}$/.test(created.lastEditedBy || ""),
               show([iso(created.createdAt), iso(created.updatedAt), created.lastEditedBy]));
    await check("createItem: every field and section has an id, field ids are unique", async () => {
        const fids = (created.fields || []).map((f) => f.id);
        assert(fids.every((x) => typeof x === "string" && x.length > 0), `field ids ${show(fids)}`);
        assert(new Set(fids).size === fids.length, `duplicate field ids ${show(fids)}`);
        const sids = (created.sections || []).map((s) => s.id);
        assert(sids.every((x) => typeof x === "string" && x.length > 0), `sections ${show(sids)}`);
    });
    expect("createItem: the builder's section is kept (its id and label)",
           { id: section.id, label: "Extra Details" },
           (created.sections || []).find((s) => s.id === section.id) || null);
    expect("createItem: the fields sent with values come back with them (type, purpose, " +
           "section, value)",
           [["STRING", "USERNAME", undefined, "alice"],
            ["STRING", "", { id: section.id }, "in a section é ✓"],
            ["EMAIL", "", { id: section.id }, "alice@example.com"],
            ["OTP", "", undefined, OTP_URI]],
           ["username", "comment", "email", "one-time password"].map((l) => {
               const f = byLabel(created, l) || {};
               return [f.type, f.purpose || "", f.section ? { id: f.section.id } : undefined,
                       f.value];
           }));
    expect("createItem: the password field is CONCEALED with purpose PASSWORD",
           ["CONCEALED", "PASSWORD", "password"],
           [(byLabel(created, "password") || {}).type, (byLabel(created, "password") || {}).purpose,
            (byPurpose(created, "PASSWORD") || {}).label]);
    generatedChecks("createItem: password (40, letters + digits, 0O1lIabc excluded)",
                    byLabel(created, "password"), RECIPES.password);
    generatedChecks("createItem: pin (12, digits + symbols, 13579!# excluded)",
                    byLabel(created, "pin"), RECIPES.pin);
    generatedChecks("createItem: secret (recipe {}: 32, all sets)", byLabel(created, "secret"),
                    RECIPES.secret);
    expectTrue("createItem: the three generated values differ",
               new Set(["password", "pin", "secret"].map((l) => (byLabel(created, l) || {}).value))
                   .size === 3);
    const otpCode = (byLabel(created, "one-time password") || {}).otp;
    expectTrue("createItem: the OTP field carries the current code (totp)",
               typeof otpCode === "string" && totpOk(otpCode, t0, t1), show(otpCode));
    expect("createItem: extractOTP() gives that code", otpCode, created.extractOTP());

    // read-your-writes on A: no wait, no retry
    const cview = fullView(created);
    expect("getItemById on server A right after createItem: the same item (read-your-writes)",
           cview, fullView(await opA.getItemById(MAIN, created.id).catch((e) => e)));
    expect("getItemByTitle on server A right after createItem: the same item",
           cview, fullView(await opA.getItemByTitle(MAIN, title).catch((e) => e)));
    await check("listItems on server A right after createItem: listed with version 1", async () => {
        const list = await opA.listItems(MAIN);
        const s = list.find((x) => x.id === created.id);
        assert(s, `not in ${show(ids(list))}`);
        assertSame("summary", [title, 1, "LOGIN"], [s.title, s.version, s.category]);
    });
    await check("getVaultById on server A right after createItem: items + 1, contentVersion grew",
        async () => {
            const v = await opA.getVaultById(MAIN);
            assert(v.items === vaultBefore.items + 1, `items ${v.items}, before ${vaultBefore.items}`);
            assert(v.contentVersion > vaultBefore.contentVersion,
                   `contentVersion ${v.contentVersion}, before ${vaultBefore.contentVersion}`);
        });
    await readBackB("server B (independent) serves the created item, identical, within 5 s",
                    created.id, cview);
    return created;
}

// updateItem of the created item: new values, a regenerated password, a stale version.
async function updateChecks(created) {
    const title = created.title;
    const v1 = await opA.getItemById(MAIN, created.id);
    const oldPassword = (byLabel(v1, "password") || {}).value;
    const upd = copyItem(v1);
    upd.title = `${title} (changed)`;
    upd.tags = ["sdkw", "changed"];
    upd.urls = [{ primary: true, href: "https://c.example.com" }];
    upd.favorite = false;
    byLabel(upd, "username").value = "bob";
    byLabel(upd, "password").value = "n3w p4ss-wörd";
    byLabel(upd, "comment").value = "changed in a section";
    const updated = await opA.updateItem(MAIN, upd).catch((e) => e);
    const usent = opA.last();
    expect("updateItem sends PUT /v1/vaults/{vault}/items/{item} with the item's id and version",
           ["PUT", `/v1/vaults/${MAIN}/items/${created.id}`, created.id, 1],
           [usent.method, usent.path, usent.data && usent.data.id, usent.data && usent.data.version]);
    const updOk = updated instanceof FullItem;
    expectTrue("updateItem resolves with a FullItem", updOk, show(plain(updated)));
    if (updOk) {
        expect("updateItem: the answer carries the PRE-update version (1)", 1, updated.version);
        expect("updateItem: the answer has the new values",
               [upd.title, ["sdkw", "changed"], [{ primary: true, href: "https://c.example.com" }],
                undefined, "bob", "n3w p4ss-wörd", "changed in a section", created.id,
                iso(created.createdAt)],
               [updated.title, updated.tags,
                (updated.urls || []).map((u) => plain({ primary: u.primary || undefined,
                                                        href: u.href })),
                updated.favorite || undefined, (byLabel(updated, "username") || {}).value,
                (byLabel(updated, "password") || {}).value,
                (byLabel(updated, "comment") || {}).value, updated.id, iso(updated.createdAt)]);
        expect("updateItem: unchanged generated fields keep their values",
               ["pin", "secret"].map((l) => (byLabel(v1, l) || {}).value),
               ["pin", "secret"].map((l) => (byLabel(updated, l) || {}).value));
        expectTrue("updateItem: updatedAt not before createdAt",
                   updated.updatedAt >= updated.createdAt,
                   show([iso(updated.createdAt), iso(updated.updatedAt)]));
        const a2 = await opA.getItemById(MAIN, created.id).catch((e) => e);
        expect("getItemById on server A right after updateItem: version 2 with the new values",
               withVersion(fullView(updated), 2), fullView(a2));
        await readBackB("server B serves version 2 with the new values within 5 s", created.id,
                        withVersion(fullView(updated), 2));

        // password history: what does GET expose?
        const raw = await fetch(`${E.serverA}/v1/vaults/${MAIN}/items/${created.id}`, {
            headers: { authorization: `Bearer ${E.tokens.rwA}` },
        }).then((r) => r.text()).catch((e) => String(e));
        const histKeys = [...raw.matchAll(/"(passwordHistory|passwordDetails|history)"/g)]
            .map((m) => m[1]);
        const exposed = typeof oldPassword === "string" && oldPassword.length > 0 &&
                        raw.includes(JSON.stringify(oldPassword).slice(1, -1));
        if (histKeys.length || exposed) {
            expectTrue("password history: the GET after the change holds the old password",
                       exposed, `history keys ${show(histKeys)} without the old value`);
        } else {
            note("password history: GET /v1/vaults/{v}/items/{i} exposes no password history " +
                 "(no passwordHistory/passwordDetails key, the old value appears nowhere in the " +
                 "body); nothing to check through the Connect API");
        }

        // a generated password on update (as Terraform sends it)
        const regen = copyItem(a2);
        const pw = byLabel(regen, "password");
        delete pw.value;
        pw.generate = true;
        pw.recipe = { length: 20, characterSets: ["DIGITS"] };
        const updated2 = await opA.updateItem(MAIN, regen).catch((e) => e);
        expect("updateItem with generate: true: the answer carries the pre-update version (2)", 2,
               updated2 && updated2.version);
        generatedChecks("updateItem with generate: true (20 digits)", byLabel(updated2, "password"),
                        pw.recipe);
        expect("getItemById on server A right after: version 3 with the generated password",
               withVersion(fullView(updated2), 3),
               fullView(await opA.getItemById(MAIN, created.id).catch((e) => e)));

        // a stale version: 409, nothing written
        const stale = copyItem(v1); // version 1, now 3
        stale.title = "a stale write";
        await rejects("updateItem with a stale version -> 409", opA.updateItem(MAIN, stale),
                      msg.conflict);
        expect("after the 409 server A still serves version 3, unchanged",
               withVersion(fullView(updated2), 3),
               fullView(await opA.getItemById(MAIN, created.id).catch((e) => e)));
        await readBackB("server B serves version 3 within 5 s (and never the stale write)",
                        created.id, withVersion(fullView(updated2), 3));
    }
    await rejects("updateItem with a read-only token -> 401 no write access",
                  opRO.updateItem(MAIN, copyItem(v1)), msg.write);
    await check("updateItem of an unknown item id -> 404 item not found", async () => {
        const ghost = copyItem(v1);
        ghost.id = E.unknownId;
        ghost.version = undefined;
        const o = await outcome(opA.updateItem(MAIN, ghost));
        assertSame("rejection", { error: msg.noItem }, { error: o.error });
    });
}

const simple = (t, category = ItemCategory.Password) =>
    new ItemBuilder().setCategory(category).setTitle(t)
        .addField({ type: FieldType.Concealed, purpose: FieldPurpose.Password,
                    label: "password", value: "s3cret" })
        .build();

// The refused creates: tokens, scope, ids, categories, invalid items.
async function createErrorChecks() {
    await rejects("createItem with a read-only token -> 401 no write access",
                  opRO.createItem(MAIN, simple(`sdkw ro ${RUN}`)), msg.write);
    await rejects("createItem in a vault granted to the server but not in the token -> 403",
                  opA.createItem(SECOND, simple(`sdkw scope ${RUN}`)), msg.scope);
    await rejects("createItem in an unknown vault (so not in the token) -> 403",
                  opA.createItem(E.unknownId, simple(`sdkw unknown ${RUN}`)), msg.scope);
    await rejects("createItem in a malformed vault id -> 400",
                  opA.createItem("not-a-vault", simple(`sdkw bad ${RUN}`)), msg.badVault);
    await rejects("createItem of a CUSTOM item -> 400",
                  opA.createItem(MAIN, simple(`sdkw custom ${RUN}`, ItemCategory.Custom)),
                  msg.invalid);
    await rejects("createItem of a DOCUMENT item -> 400",
                  opA.createItem(MAIN, simple(`sdkw document ${RUN}`, ItemCategory.Document)),
                  msg.invalid);
    await rejects("createItem with two PASSWORD fields -> 400",
                  opA.createItem(MAIN, new ItemBuilder().setCategory(ItemCategory.Login)
                      .setTitle(`sdkw two passwords ${RUN}`)
                      .addField({ type: FieldType.Concealed, purpose: FieldPurpose.Password,
                                  label: "password", value: "one" })
                      .addField({ type: FieldType.Concealed, purpose: FieldPurpose.Password,
                                  label: "password 2", value: "two" })
                      .build()),
                  msg.invalid);
    await rejects("createItem with a recipe of length 65 -> 400",
                  opA.createItem(MAIN, new ItemBuilder().setCategory(ItemCategory.Password)
                      .setTitle(`sdkw long ${RUN}`)
                      .addField({ type: FieldType.Concealed, purpose: FieldPurpose.Password,
                                  label: "password", generate: true, recipe: { length: 65 } })
                      .build()),
                  msg.invalid);
    await check("the refused creates left nothing on server A", async () => {
        const titles = (await opA.listItems(MAIN)).map((x) => x.title);
        const leaked = titles.filter((t) => t.endsWith(RUN) && !t.startsWith("sdkw login"));
        assert(leaked.length === 0, `found ${show(leaked)}`);
    });
}

// Parallel creates, then every delete method; then the refused deletes (of keep, an item
// that must survive them).
async function deleteChecks(keep) {
    const delTitles = ["one", "two", "three", "four"].map((n) => `sdkw delete ${n} ${RUN}`);
    const made = await Promise.all(delTitles.map((t) => opA.createItem(MAIN, simple(t))
        .catch((e) => e)));
    expect("4 parallel createItem calls on one vault all succeed (no spurious 409), version 1",
           delTitles.map((t) => [t, 1, true]),
           made.map((m) => (m instanceof FullItem
                                ? [m.title, m.version, /^[a-z0-9]{26}$/.test(m.id || "")]
                                : plain(m))));
    if (made.every((m) => m instanceof FullItem)) {
        expect("the 4 parallel creates got 4 distinct ids", 4, new Set(ids(made)).size);
        const forms = [
            ["deleteItem with an id", () => opA.deleteItem(MAIN, made[0].id)],
            ["deleteItem with a title", () => opA.deleteItem(MAIN, made[1].title)],
            ["deleteItemById", () => opA.deleteItemById(MAIN, made[2].id)],
            ["deleteItemByTitle", () => opA.deleteItemByTitle(MAIN, made[3].title)],
        ];
        for (let i = 0; i < forms.length; i++) {
            const [name, fn] = forms[i];
            const r = await outcome(fn());
            expect(`${name} resolves (undefined)`, { value: undefined }, r);
            const dsent = opA.last();
            expect(`${name} sends DELETE /v1/vaults/{vault}/items/{item}`,
                   ["DELETE", `/v1/vaults/${MAIN}/items/${made[i].id}`], [dsent.method, dsent.path]);
            await rejects(`${name}: getItemById on server A right after -> 404`,
                          opA.getItemById(MAIN, made[i].id), msg.noItem);
        }
        expect("listItems on server A right after the deletes: none of the 4 listed", [],
               ids(await opA.listItems(MAIN).catch(() => [])).filter((x) => ids(made).includes(x)));
        for (let i = 0; i < forms.length; i++)
            await goneB(`${forms[i][0]}: server B answers 404 within 5 s`, made[i].id);
        await rejects("deleteItemById of a deleted item -> 404", opA.deleteItemById(MAIN, made[2].id),
                      msg.noItem);
        await rejects("deleteItemByTitle of a deleted item's title -> 404 (SDK)",
                      opA.deleteItemByTitle(MAIN, made[3].title), msg.sdkNoItem);
    }
    await rejects("deleteItemByTitle of an unknown title -> 404 (SDK)",
                  opA.deleteItemByTitle(MAIN, `no such item ${RUN}`), msg.sdkNoItem);
    await rejects("deleteItemById with a read-only token -> 401 no write access",
                  opRO.deleteItemById(MAIN, keep), msg.write);
    await rejects("deleteItemById in a vault not in the token -> 403",
                  opA.deleteItemById(SECOND, keep), msg.scope);
    expect("after the refused deletes server A still serves the item", keep,
           (await opA.getItemById(MAIN, keep).catch(() => ({}))).id);
}

// A write-only token: creates, updates and deletes; its answers carry no secrets; no reads.
async function writeOnlyChecks() {
    const woTitle = `sdkw write-only ${RUN}`;
    const woRecipe = { length: 24, characterSets: ["LETTERS"] };
    const wo = await opWO.createItem(MAIN, new ItemBuilder().setCategory(ItemCategory.Login)
        .setTitle(woTitle)
        .addField({ type: FieldType.String, purpose: FieldPurpose.Username, label: "username",
                    value: "wo-user" })
        .addField({ type: FieldType.Concealed, purpose: FieldPurpose.Password, label: "password",
                    generate: true, recipe: woRecipe })
        .addField({ type: FieldType.Otp, label: "otp", value: OTP_URI })
        .build()).catch((e) => e);
    const woOk = wo instanceof FullItem;
    expectTrue("createItem with a write-only token succeeds", woOk, show(plain(wo)));
    if (woOk) {
        expect("createItem (write-only): id, version 1, title",
               [true, 1, woTitle], [/^[a-z0-9]{26}$/.test(wo.id || ""), wo.version, wo.title]);
        await check("createItem (write-only): no field carries a value, a code or entropy",
            async () => {
                assert((wo.fields || []).length >= 3, `fields ${show(plain(wo.fields))}`);
                const leaks = (wo.fields || []).filter((f) =>
                    f.value !== undefined || f.otp !== undefined || f.entropy !== undefined);
                assert(leaks.length === 0, `fields with secrets: ${show(leaks.map((f) => f.label))}`);
            });
        await rejects("getItemById with the write-only token -> 403 no read access",
                      opWO.getItemById(MAIN, wo.id), msg.read);
        await rejects("getItem with the write-only token -> 403 no read access",
                      opWO.getItem(MAIN, wo.id), msg.read);
        const woRead = await opA.getItemById(MAIN, wo.id).catch((e) => e);
        expect("the write-only item read with the read-write token: the values were stored",
               ["wo-user", OTP_URI, true],
               [(byLabel(woRead, "username") || {}).value, (byLabel(woRead, "otp") || {}).value,
                /^[0-9]{6}$/.test((byLabel(woRead, "otp") || {}).otp || "")]);
        generatedChecks("the write-only item's password (24 letters)", byLabel(woRead, "password"),
                        woRecipe);
        if (woRead instanceof FullItem) {
            const change = copyItem(woRead);
            change.title = `${woTitle} (changed)`;
            const woUpd = await opWO.updateItem(MAIN, change).catch((e) => e);
            expect("updateItem with the write-only token: pre-update version 1, the new title",
                   [1, change.title], [woUpd && woUpd.version, woUpd && woUpd.title]);
            expectTrue("updateItem (write-only): the answer carries no value, code or entropy",
                       woUpd instanceof FullItem && (woUpd.fields || []).length > 0 &&
                           woUpd.fields.every((f) => f.value === undefined &&
                                              f.otp === undefined && f.entropy === undefined),
                       show(plain(woUpd)).slice(0, 300));
            expect("after the write-only update server A serves version 2, values unchanged",
                   withVersion({ ...fullView(woRead), title: change.title }, 2),
                   { ...fullView(await opA.getItemById(MAIN, wo.id).catch((e) => e)),
                     updatedAt: iso(woRead.updatedAt) });
        }
        expect("deleteItemById with the write-only token resolves", { value: undefined },
               await outcome(opWO.deleteItemById(MAIN, wo.id)));
        await rejects("the write-only token's delete: server A answers 404 at once",
                      opA.getItemById(MAIN, wo.id), msg.noItem);
    }

}

async function main() {
    await builderChecks();
    const vaultBefore = await opA.getVaultById(MAIN).catch((e) => e);
    const created = await createChecks(vaultBefore);
    if (created) await updateChecks(created);
    else notOk("updateItem checks", "not run: createItem failed");
    await createErrorChecks();
    await deleteChecks(created ? created.id : E.seedId);
    await writeOnlyChecks();
    if (created) {
        expect("deleteItem (the login item, by id) resolves", { value: undefined },
               await outcome(opA.deleteItem(MAIN, created.id)));
        await rejects("the login item: server A answers 404 at once",
                      opA.getItemById(MAIN, created.id), msg.noItem);
        await goneB("the login item: server B answers 404 within 5 s", created.id);
    }
    await check("server A lists exactly the items it had before the suite, vault count too",
        async () => {
            const list = await opA.listItems(MAIN);
            const v = await opA.getVaultById(MAIN);
            assertSame("items", [vaultBefore.items, vaultBefore.items], [list.length, v.items]);
        });
}

main().then(finish, (e) => {
    notOk("the suite runs to the end", e && e.stack ? e.stack : show(e));
    finish();
});

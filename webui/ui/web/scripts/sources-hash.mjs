// Writes ../dist/.sources.sha256: one "sha256  path" line per source file
// of the build, sorted by path, so that a Go test (webui/ui/sources_test.go)
// can tell, without Node, whether the committed dist was built from the
// committed sources. Keep the file list in step with that test.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const fixed = ["index.html", "package.json", "package-lock.json", "tsconfig.json", "vite.config.ts", "scripts/sources-hash.mjs"];

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(relative(root, p).split(sep).join("/"));
  }
  return out;
}

const files = [...fixed, ...walk(join(root, "src"))];
// Byte order of the UTF-8 paths, as Go's sort.Strings orders them.
files.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
let manifest = "";
for (const f of files) {
  const sum = createHash("sha256").update(readFileSync(join(root, f))).digest("hex");
  manifest += `${sum}  ${f}\n`;
}
writeFileSync(join(root, "..", "dist", ".sources.sha256"), manifest);
console.log(`sources-hash: ${files.length} files`);

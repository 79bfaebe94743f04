// importTS compiles one TypeScript module of the app with the project's own
// TypeScript (no other tool) and imports it, for the *.test.mjs unit tests
// that node:test runs (webui/ui's Go tests run them all). The module may
// import types only.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";

export async function importTS(url) {
  const path = fileURLToPath(url);
  const js = ts.transpileModule(readFileSync(path, "utf8"), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const name = basename(path, ".ts");
  const dir = mkdtempSync(join(tmpdir(), name + "-"));
  try {
    const file = join(dir, name + ".mjs");
    writeFileSync(file, js);
    return await import(pathToFileURL(file).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

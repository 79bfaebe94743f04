// Vite builds the UI into ../dist, which is committed and embedded in the
// Go binary (webui/ui/embed.go). Output names carry content hashes only, so
// the same sources always produce the same bytes.
import { defineConfig } from "vite";

export default defineConfig({
  base: "/",
  publicDir: false,
  esbuild: {
    jsx: "automatic",
    jsxImportSource: "preact",
    legalComments: "none",
  },
  build: {
    outDir: "../dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    // Inlined assets would be data: URLs; keep every asset a file so the
    // Content-Security-Policy stays 'self'.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});

// Package ui serves Hotline's web UI: the Preact app built from web/ by
// Vite into dist/, committed, and embedded here so that `go build` needs no
// Node. Rebuild with `npm ci && npm run build` in web/ (make ui); a test
// fails when dist/ was not rebuilt after its sources changed.
package ui

import (
	"embed"
	"io/fs"
)

// dist holds the build output; all: keeps dist/.sources.sha256, which the
// handler never serves (dot files answer 404) but the freshness test reads.
//
//go:embed all:dist
var dist embed.FS

// Files returns the built UI as a file system rooted at dist/, for tests
// and for tools that want to inspect or re-serve the assets.
func Files() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		// fs.Sub fails only on an invalid path; "dist" is valid.
		panic(err)
	}
	return sub
}

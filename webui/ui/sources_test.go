package ui

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// sourceFiles lists the inputs of the build as web/scripts/sources-hash.mjs
// does: fixed files plus everything under src/, slash-separated, sorted.
func sourceFiles(web string) ([]string, error) {
	files := []string{"index.html", "package.json", "package-lock.json", "tsconfig.json", "vite.config.ts", "scripts/sources-hash.mjs"}
	err := filepath.WalkDir(filepath.Join(web, "src"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(web, p)
		files = append(files, filepath.ToSlash(rel))
		return err
	})
	slices.Sort(files)
	return files, err
}

func sourcesManifest(web string) (string, error) {
	files, err := sourceFiles(web)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(web, filepath.FromSlash(f)))
		if err != nil {
			return "", err
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(sum[:]), f)
	}
	return b.String(), nil
}

// TestDistMatchesSources fails when web/ changed but dist/ was not rebuilt
// (or the other way round), so the embedded UI is always the committed one.
func TestDistMatchesSources(t *testing.T) {
	want, err := sourcesManifest("web")
	if err != nil {
		t.Fatal(err)
	}
	got, err := fs.ReadFile(Files(), ".sources.sha256")
	if err != nil {
		t.Fatalf("dist/.sources.sha256: %v; run `make ui` (npm ci && npm run build in webui/ui/web) and commit webui/ui/dist", err)
	}
	if string(got) == want {
		return
	}
	built := map[string]string{}
	for line := range strings.Lines(string(got)) {
		sum, name, _ := strings.Cut(strings.TrimSpace(line), "  ")
		built[name] = sum
	}
	var stale []string
	for line := range strings.Lines(want) {
		sum, name, _ := strings.Cut(strings.TrimSpace(line), "  ")
		if built[name] != sum {
			stale = append(stale, name)
		}
		delete(built, name)
	}
	for name := range built {
		stale = append(stale, name+" (removed)")
	}
	slices.Sort(stale)
	t.Fatalf("webui/ui/dist was built from other sources (changed: %s); run `make ui` (npm ci && npm run build in webui/ui/web) and commit webui/ui/dist",
		strings.Join(stale, ", "))
}

// TestManifestDetectsChange guards the check itself: a changed source file
// changes the manifest.
func TestManifestDetectsChange(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"index.html", "package.json", "package-lock.json", "tsconfig.json", "vite.config.ts", "scripts/sources-hash.mjs", "src/main.tsx", "src/i18n/en.json"} {
		p := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before, err := sourcesManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(before, "\n"); n != 8 {
		t.Fatalf("manifest has %d lines, want 8:\n%s", n, before)
	}
	if err := os.WriteFile(filepath.Join(dir, "src", "i18n", "en.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	after, err := sourcesManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if before == after {
		t.Fatal("manifest unchanged after a source changed")
	}
	if _, err := sourcesManifest(filepath.Join(dir, "absent")); err == nil {
		t.Fatal("no error for a missing web directory")
	}
}

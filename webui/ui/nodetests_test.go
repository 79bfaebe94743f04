package ui

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// nodeTests lists the unit tests of the web app's TypeScript: every
// *.test.mjs under web/src, relative to web/.
func nodeTests(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(filepath.Join("web", "src"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".test.mjs") {
			return err
		}
		rel, err := filepath.Rel("web", p)
		files = append(files, rel)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestNodeUnitTests runs every *.test.mjs under web/src (the inbox's
// placeholder filling, the search page's highlights, and whatever is added
// beside them) with node --test, each compiled by the TypeScript of
// web/node_modules. Without node or node_modules (`npm ci` in web/ not
// run) the test skips saying so, unless CI is set, where that fails.
func TestNodeUnitTests(t *testing.T) {
	files := nodeTests(t)
	if len(files) == 0 {
		t.Fatal("no *.test.mjs under web/src")
	}
	missing := func(msg string) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed (deploy/install-test-deps.sh installs it)")
	}
	if _, err := os.Stat(filepath.Join("web", "node_modules", "typescript")); err != nil {
		missing("web/node_modules lacks typescript: run npm ci in webui/ui/web")
	}
	for _, f := range files {
		t.Run(filepath.ToSlash(f), func(t *testing.T) {
			cmd := exec.Command(node, "--test", "--test-reporter=tap", f)
			cmd.Dir = "web"
			cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("node --test %s: %v\n%s", f, err, out)
			}
			// node --test exits 0 when a file declares no test at all.
			if !strings.Contains(string(out), "# pass ") || strings.Contains(string(out), "# pass 0\n") {
				t.Fatalf("node --test %s ran no test:\n%s", f, out)
			}
		})
	}
}

package ui

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestPlaceholdersNode runs the unit test of the inbox's placeholder
// filling (web/src/inbox/placeholders.test.mjs) under node, with the
// TypeScript compiler of web/node_modules. Without node or node_modules
// (`npm ci` in web/ not run) the test is skipped, saying so.
func TestPlaceholdersNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	if _, err := os.Stat(filepath.Join("web", "node_modules", "typescript")); err != nil {
		t.Skip("web/node_modules lacks typescript: run npm ci in webui/ui/web")
	}
	cmd := exec.Command(node, "--test", filepath.Join("src", "inbox", "placeholders.test.mjs"))
	cmd.Dir = "web"
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test placeholders.test.mjs: %v\n%s", err, out)
	}
}

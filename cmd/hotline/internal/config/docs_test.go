package config

import (
	"os"
	"strings"
	"testing"
)

// TestEveryKeyDocumented keeps docs/CONFIGURATION.md in step with the
// struct: a key added here must be documented there, with its variable.
func TestEveryKeyDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../../../docs/CONFIGURATION.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range Keys() {
		row := "| `" + key + "` |"
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/CONFIGURATION.md has no row for %s", key)
		}
		if !strings.Contains(string(doc), "`"+EnvName(key)+"`") {
			t.Errorf("docs/CONFIGURATION.md does not name %s", EnvName(key))
		}
	}
}

// Package e2e holds Hotline's browser tests: a real hotline binary, the
// embedded web UI and Debian's chromium driven by playwright-core (Node).
//
// Prerequisites come from deploy/install-test-deps.sh (chromium, and
// `npm ci` here). Without them the tests skip, unless CI is set, where a
// missing prerequisite is a failure. The helpers the tests share (the hub,
// the prerequisites, running a script) are in hub_test.go.
package e2e

import (
	"os"
	"testing"
	"time"
)

// TestSignInJourney signs in as the first-start admin in chromium, sees
// the header, a translated wrong-password error, the password change, the
// Russian UI surviving a reload, sign-out, and an ended session returning
// to the sign-in page (see signin.mjs for each step).
func TestSignInJourney(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test; skipped with -short")
	}
	node, browser := prerequisites(t)
	h := startHub(t)
	base := uiURL(t, h.base())
	runScript(t, node, "signin.mjs", "ok: sign-in journey passed", 5*time.Minute,
		"HOTLINE_URL="+base,
		"HOTLINE_LOGIN="+h.login,
		"HOTLINE_PASSWORD="+h.password,
		"CHROMIUM_PATH="+browser,
		"USER_DATA_DIR="+t.TempDir(),
		"ARTIFACTS_DIR="+os.Getenv("HOTLINE_E2E_ARTIFACTS"),
	)
}

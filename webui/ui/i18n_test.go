package ui

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// languages are the catalogues the UI ships (web/src/i18n.ts); English is
// the reference.
var languages = []string{"en", "fr", "ru", "de"}

// catalogueDirs hold the parts of the catalogues, each with one file per
// language: the frame's, the inbox's, the admin pages' and the search's.
var catalogueDirs = []string{
	filepath.Join("web", "src", "i18n"),
	filepath.Join("web", "src", "inbox", "i18n"),
	filepath.Join("web", "src", "admin", "i18n"),
	filepath.Join("web", "src", "search", "i18n"),
}

// readCatalogue merges lang's parts; a key in two parts is an error.
func readCatalogue(t *testing.T, lang string) map[string]string {
	t.Helper()
	all := map[string]string{}
	for _, dir := range catalogueDirs {
		b, err := os.ReadFile(filepath.Join(dir, lang+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s/%s.json: %v", dir, lang, err)
		}
		for k, v := range m {
			if _, dup := all[k]; dup {
				t.Errorf("%s/%s.json: %q is also in another part", dir, lang, k)
			}
			all[k] = v
		}
	}
	return all
}

var placeholder = regexp.MustCompile(`\{(\w+)\}`)

// TestCataloguesMatch checks that every catalogue has exactly the English
// keys, each message non-empty with the same placeholders, and that no
// message was left untranslated by copying the English text (short
// cognates such as "Agent" are allowed where the words are the same).
func TestCataloguesMatch(t *testing.T) {
	cats := map[string]map[string]string{}
	for _, lang := range languages {
		cats[lang] = readCatalogue(t, lang)
	}
	en := cats["en"]
	if len(en) == 0 {
		t.Fatal("en.json is empty")
	}
	for _, lang := range languages[1:] {
		m := cats[lang]
		for k := range en {
			if _, ok := m[k]; !ok {
				t.Errorf("%s.json lacks %q", lang, k)
			}
		}
		for k := range m {
			if _, ok := en[k]; !ok {
				t.Errorf("%s.json has %q, which en.json lacks", lang, k)
			}
		}
		copied := 0
		for k, v := range m {
			ref, ok := en[k]
			if !ok {
				continue
			}
			if strings.TrimSpace(v) == "" {
				t.Errorf("%s.json: %q is empty", lang, k)
			}
			if got, want := names(v), names(ref); !slices.Equal(got, want) {
				t.Errorf("%s.json: %q has placeholders %v, en.json %v", lang, k, got, want)
			}
			if v == ref && len(strings.Fields(v)) > 2 {
				t.Errorf("%s.json: %q is the English text %q", lang, k, v)
			}
			if v == ref {
				copied++
			}
		}
		if copied > len(en)/5 {
			t.Errorf("%s.json: %d of %d messages equal the English ones", lang, copied, len(en))
		}
	}
}

func names(msg string) []string {
	var out []string
	for _, m := range placeholder.FindAllStringSubmatch(msg, -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return out
}

// TestCatalogueKeysUsed checks that every key the sources use exists, and
// every key in the catalogue is used, so dead or missing messages show.
func TestCatalogueKeysUsed(t *testing.T) {
	en := readCatalogue(t, "en")
	var src strings.Builder
	err := filepath.WalkDir(filepath.Join("web", "src"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".ts") || strings.HasSuffix(p, ".tsx")) {
			return err
		}
		b, err := os.ReadFile(p)
		src.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	all := src.String()
	for k := range en {
		if !strings.Contains(all, `"`+k+`"`) {
			t.Errorf("key %q is never used in web/src", k)
		}
	}
	used := regexp.MustCompile(`\bt\("([a-z_]+\.[a-z_]+)"`)
	for _, m := range used.FindAllStringSubmatch(all, -1) {
		if _, ok := en[m[1]]; !ok {
			t.Errorf("web/src uses key %q, which en.json lacks", m[1])
		}
	}
}

package searchtest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// CorpusDir is where the multilingual texts live, relative to a package
// directory two levels below the repository root (search/searchtest,
// search/embedded): CI clones the repository with shared/ beside it.
const CorpusDir = "../../../shared/corpus"

// English is a handful of English support sentences: the corpus has none.
var English = []string{
	"Thank you for your call, an agent will call you back within the hour.",
	"I called twice yesterday and nobody answered the phone.",
	"Your ticket has been escalated to the technical support team.",
	"The refund was issued to your card and should arrive in five days.",
	"Please send us a photo of the damaged parcel by email.",
	"Our hotline is open from nine to six, Monday to Friday.",
	"The customer asked for a callback about the missing invoice.",
	"We are sorry for the waiting time during the holiday season.",
	"Calls are recorded for quality and training purposes.",
	"The technician will visit on Tuesday morning to replace the router.",
}

var sentenceEnd = regexp.MustCompile(`[.!?]\s+|\n+`)

// Corpus returns the corpus sentences by language ("fr", "ru", "de"; "en"
// from English), skipping tb when the corpus is missing.
func Corpus(tb testing.TB) map[string][]string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(CorpusDir, "*.txt"))
	if err != nil || len(files) == 0 {
		tb.Skipf("searchtest: corpus not found in %s (clone shared/ beside the repository): %v", CorpusDir, err)
	}
	out := map[string][]string{"en": English}
	for _, f := range files {
		lang, _, ok := strings.Cut(filepath.Base(f), "-")
		if !ok {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatalf("searchtest: read corpus: %v", err)
		}
		for _, s := range sentenceEnd.Split(string(b), -1) {
			if s = strings.TrimSpace(s); len(strings.Fields(s)) >= 3 {
				out[lang] = append(out[lang], s)
			}
		}
	}
	return out
}

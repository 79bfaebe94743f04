package embedded

import (
	"context"
	"flag"
	"path/filepath"
	"testing"

	"github.com/hotline-hub/hotline/search/searchtest"
)

var (
	benchMessages = flag.Int("search.messages", 100_000, "messages to index in BenchmarkLoad (issue 4 target: 1,000,000)")
	benchBatch    = flag.Int("search.batch", 1000, "conversations per Write in BenchmarkLoad")
	benchWriters  = flag.Int("search.writers", 2, "concurrent Write calls in BenchmarkLoad (indexer workers)")
)

// BenchmarkLoad indexes -search.messages messages (default 100,000; the
// issue's target is 1,000,000), then measures dossier lookups and analyst
// full-text queries on the index (searchtest.Bench). Run it once:
//
//	go test -run XXX -bench Load -benchtime 2000x ./search/embedded -args -search.messages 1000000
//
// Index reports messages/s (per wall and per CPU second) and the index
// size on disk; Dossier, FullText and Browse report p50 and p99 latencies
// in milliseconds (ns/op is their mean).
func BenchmarkLoad(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "search")
	x, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	searchtest.Bench(b, x, searchtest.BenchConfig{
		Messages: *benchMessages,
		Batch:    *benchBatch,
		Writers:  *benchWriters,
		CPU:      true,
		Size:     func(context.Context) (int64, error) { return searchtest.DirSize(dir) },
	})
}

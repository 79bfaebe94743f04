package elastic

import (
	"context"
	"flag"
	"net/http"
	"testing"

	"github.com/hotline-hub/hotline/search/elastic/estest"
	"github.com/hotline-hub/hotline/search/searchtest"
)

var (
	benchMessages = flag.Int("search.messages", 100_000, "messages to index in BenchmarkLoad")
	benchBatch    = flag.Int("search.batch", 1000, "conversations per Write in BenchmarkLoad")
	benchWriters  = flag.Int("search.writers", 2, "concurrent Write calls in BenchmarkLoad (indexer workers)")
)

// BenchmarkLoad indexes -search.messages messages (default 100,000 in
// about 10,000 conversations) into the test server, then measures dossier
// lookups and analyst full-text queries, with the same load as
// search/embedded's BenchmarkLoad (searchtest.Bench):
//
//	go test -run XXX -bench Load -benchtime 2000x ./search/elastic
//
// Index reports messages/s and the store size; Dossier, FullText and
// Browse report p50 and p99 latencies in milliseconds (ns/op is their
// mean). Latencies include the HTTP round trip to a server on the same
// machine; the CPU time per message is left out, Elasticsearch working in
// another process.
func BenchmarkLoad(b *testing.B) {
	x := newTestIndex(b, estest.Shared(b))
	searchtest.Bench(b, x, searchtest.BenchConfig{
		Messages: *benchMessages,
		Batch:    *benchBatch,
		Writers:  *benchWriters,
		// Searchable now (the refresh interval would do it within a
		// second), merged as an index that has been live for a while
		// would be.
		Settle: func(ctx context.Context) error {
			return x.call(ctx, "refresh", http.MethodPost, "/"+x.convs+"/_refresh", nil, nil, nil)
		},
		Size: func(ctx context.Context) (int64, error) {
			var stats struct {
				All struct {
					Primaries struct {
						Store struct {
							Size int64 `json:"size_in_bytes"`
						} `json:"store"`
					} `json:"primaries"`
				} `json:"_all"`
			}
			err := x.call(ctx, "stats", http.MethodGet, "/"+x.convs+"/_stats/store", nil, nil, &stats)
			return stats.All.Primaries.Store.Size, err
		},
	})
}

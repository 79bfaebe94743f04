package reindex

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/search"
	"github.com/hotline-hub/hotline/search/elastic"
	"github.com/hotline-hub/hotline/search/elastic/estest"
)

// TestReindexElastic rebuilds Elasticsearch indices behind the aliases
// from the embedded bus, with a real server: searches through the aliases
// keep finding what was indexed before, the aliases move to generation 2,
// generation 1 is deleted, and the conversations the live indexer wrote
// just before pausing are in the new generation.
func TestReindexElastic(t *testing.T) {
	srv := estest.Start(t)
	var rb [4]byte
	_, _ = rand.Read(rb[:])
	x, err := elastic.New(elastic.Config{Addresses: []string{srv.URL()}, IndexPrefix: "r" + hex.EncodeToString(rb[:])})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	ctx := context.Background()
	if err := x.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	b := openBus(t)
	live := runLive(t, b, x)

	before := publishBefore(t, ctx, b, 200, func(int) bool { return true })
	waitComplete(t, x, before, func(string) bool { return true })
	query := search.Query{Tenant: tenant, Text: "colis", Statuses: []string{search.StatusResolved}, Size: 1}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		res, err := x.Search(ctx, query)
		if err == nil && res.Total == len(before) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("search finds %d (%v), want %d", res.Total, err, len(before))
		}
	}

	late := newLateArrivals(t, live, b, x)
	job := newJob(t, 100*time.Millisecond, late.gate, b, Elastic{Live: x}, late)
	load := startSearching(x, query, 5*time.Millisecond, func(res search.Result) error {
		if res.Total < len(before) {
			return fmt.Errorf("found %d, want %d", res.Total, len(before))
		}
		return nil
	})
	rec := &recorder{}
	runErr := job.Run(ctx, rec.report)
	time.Sleep(2 * time.Second) // searches after the switch too
	load.stopAndCheck(t)
	if runErr != nil {
		t.Fatalf("Run: %v", runErr)
	}
	gens, cur, err := x.Generations(ctx)
	if err != nil || cur != "2" || !slices.Equal(gens, []string{"2"}) {
		t.Fatalf("generations %v, current %q (%v); want only 2", gens, cur, err)
	}
	reports := rec.list()
	if last := reports[len(reports)-1]; last.Phase != PhaseDone || last.Generation != "2" || last.Done != last.Total {
		t.Errorf("last report %+v", last)
	}
	waitComplete(t, x, before, func(string) bool { return true })
	waitComplete(t, x, late.ids, func(string) bool { return false })
}

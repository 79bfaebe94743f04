package reindex

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hotline-hub/hotline/search"
	"github.com/hotline-hub/hotline/search/elastic"
	"github.com/hotline-hub/hotline/search/embedded"
)

// Target is the search backend a job rebuilds: the one the hub serves
// searches from.
type Target interface {
	// Create makes a new, empty generation beside the serving one, which
	// keeps answering.
	Create(ctx context.Context) (Build, error)
}

// Build is a generation being built by a job.
type Build interface {
	// Name is the generation's name, for logs and progress.
	Name() string
	// Index writes into (and reads from) the generation.
	Index() search.Index
	// Switch makes the generation answer every search, the serving index
	// included, and removes the generation that answered before. Nothing
	// writes into Index any more. An error wrapping ErrRestartNeeded says
	// the generation is current for the next start but the serving index
	// still answers from the old one.
	Switch(ctx context.Context) error
	// Drop removes the generation, unless Switch made it the current one.
	Drop(ctx context.Context) error
}

// Embedded rebuilds the embedded index: Live is the serving index, opened
// on Dir. A generation is a directory under Dir; the switch points
// "current" at it and reloads Live, which deletes the old generation.
type Embedded struct {
	Dir  string
	Live *embedded.Index
	Log  *slog.Logger
}

var _ Target = Embedded{}

// Create makes a new generation under Dir.
func (t Embedded) Create(ctx context.Context) (Build, error) {
	if t.Dir == "" || t.Live == nil {
		return nil, errors.New("reindex: the embedded target needs the index directory and the serving index")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	log := t.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	next, err := embedded.Create(t.Dir, embedded.WithLogger(log))
	if err != nil {
		return nil, err
	}
	return &embeddedBuild{dir: t.Dir, live: t.Live, next: next, name: next.Generation()}, nil
}

type embeddedBuild struct {
	dir      string
	live     *embedded.Index
	next     *embedded.Index
	name     string
	switched bool // "current" names this generation
	closed   bool
}

func (b *embeddedBuild) Name() string        { return b.name }
func (b *embeddedBuild) Index() search.Index { return b.next }

func (b *embeddedBuild) Switch(ctx context.Context) error {
	if err := b.next.Switch(); err != nil {
		return err
	}
	b.switched = true
	// Reload opens the generation: this handle must be closed first.
	b.closed = true
	if err := b.next.Close(); err != nil {
		return fmt.Errorf("generation %s is current, but closing it failed: %w (%w)", b.name, err, ErrRestartNeeded)
	}
	if err := b.live.Reload(); err != nil {
		return fmt.Errorf("generation %s is current, but the serving index could not load it: %w (%w)", b.name, err, ErrRestartNeeded)
	}
	return nil
}

func (b *embeddedBuild) Drop(ctx context.Context) error {
	if b.switched {
		return nil
	}
	var errs []error
	if !b.closed {
		b.closed = true
		if err := b.next.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	// The package documents the layout: one directory per generation.
	if err := os.RemoveAll(filepath.Join(b.dir, b.name)); err != nil {
		errs = append(errs, fmt.Errorf("remove generation %s: %w", b.name, err))
	}
	return errors.Join(errs...)
}

// Elastic rebuilds the Elasticsearch indices behind Live's aliases: a
// generation is a pair of new indices; the switch moves both aliases at
// once, then deletes the older generations.
type Elastic struct {
	Live *elastic.Index
	Log  *slog.Logger
}

var _ Target = Elastic{}

// Create creates the indices of a new generation.
func (t Elastic) Create(ctx context.Context) (Build, error) {
	if t.Live == nil {
		return nil, errors.New("reindex: the Elasticsearch target needs the serving index")
	}
	gen, err := t.Live.CreateGeneration(ctx)
	if err != nil {
		return nil, err
	}
	view, err := t.Live.Generation(gen)
	if err != nil {
		return nil, err
	}
	log := t.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &elasticBuild{live: t.Live, view: view, gen: gen, log: log}, nil
}

type elasticBuild struct {
	live *elastic.Index
	view *elastic.Index
	gen  string
	log  *slog.Logger
}

func (b *elasticBuild) Name() string        { return b.gen }
func (b *elasticBuild) Index() search.Index { return b.view }

// elasticVisible is how long after a write Elasticsearch shows it to
// searches: its indices refresh every second (see package elastic).
const elasticVisible = 1500 * time.Millisecond

func (b *elasticBuild) Switch(ctx context.Context) error {
	// The rebuild's last writes become searchable at the next refresh:
	// switching before it would hide them from searches for a moment.
	select {
	case <-time.After(elasticVisible):
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := b.live.SwitchAlias(ctx, b.gen); err != nil {
		return err
	}
	// The aliases answer from the new generation: the older ones (the
	// previous one, and any a crashed reindex left) go. A failure here
	// leaves an unused index, not a wrong answer; the next reindex
	// deletes it.
	all, _, err := b.live.Generations(ctx)
	if err != nil {
		b.log.Warn("reindex: list generations to delete the old ones", "err", err)
		return nil
	}
	n, _ := strconv.Atoi(b.gen)
	for _, g := range all {
		if m, _ := strconv.Atoi(g); m < n {
			if err := b.live.DeleteGeneration(ctx, g); err != nil {
				b.log.Warn("reindex: delete an old generation", "generation", g, "err", err)
			}
		}
	}
	return nil
}

// Drop deletes the generation's indices; Elasticsearch refuses (and so
// does DeleteGeneration) if the aliases point at it.
func (b *elasticBuild) Drop(ctx context.Context) error {
	return b.live.DeleteGeneration(ctx, b.gen)
}

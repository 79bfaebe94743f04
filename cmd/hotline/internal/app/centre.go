package app

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/channels/chat"
	"github.com/hotline-hub/hotline/cmd/hotline/internal/config"
	"github.com/hotline-hub/hotline/routing"
	"github.com/hotline-hub/hotline/search"
	"github.com/hotline-hub/hotline/search/elastic"
	"github.com/hotline-hub/hotline/search/embedded"
	"github.com/hotline-hub/hotline/search/indexer"
	"github.com/hotline-hub/hotline/webui/auth"
	"github.com/hotline-hub/hotline/webui/directory"
	"github.com/hotline-hub/hotline/webui/inbox"
	"github.com/hotline-hub/hotline/webui/searchapi"
)

// newContactCentre builds the parts that carry conversations: the
// directory of queues and agents (edited in the admin pages), routing, the
// agent inbox and the web chat channel. Their queues, agents and widget
// settings all come from the directory on the bus, so they start empty and
// follow the admins' changes while running.
func (a *App) newContactCentre(cfg config.Config, log *slog.Logger) error {
	var err error
	if a.dir, err = directory.New(directory.Config{}, a.bus, log); err != nil {
		return err
	}
	if a.router, err = routing.New(routing.Config{}, a.bus, log); err != nil {
		return err
	}
	// The inbox streams the voice channel's recordings and voicemail from
	// the same directory (voice.recordings_dir and its default), whether
	// or not voice is enabled in this process.
	if a.inbox, err = inbox.New(inbox.Config{RecordingsDir: cfg.VoiceConfig().RecordingsDir}, a.bus, a.auth, log); err != nil {
		return err
	}
	a.chat, err = chat.New(chat.Config{SecretFile: filepath.Join(cfg.DataDir, "chat.secret")}, a.bus, log)
	if err != nil {
		return err
	}
	if a.index, err = openIndex(cfg, log); err != nil {
		return err
	}
	// The indexer folds routing's log like the inbox, with the routers'
	// (empty) static configuration: queues and agents come from the
	// directory on that log.
	if a.indexer, err = indexer.New(indexer.Config{}, a.bus, a.index, log.With("component", "indexer")); err != nil {
		return err
	}
	if err := a.newReindex(cfg, log); err != nil {
		return err
	}
	a.merges = search.NewMerges()
	a.search, err = searchapi.New(searchapi.Config{}, a.index, a.merges, a.inbox, a.bus, a.auth, log.With("component", "searchapi"))
	return err
}

// openIndex opens the configured search index.
func openIndex(cfg config.Config, log *slog.Logger) (search.Index, error) {
	switch cfg.Search.Driver {
	case config.SearchEmbedded:
		x, err := embedded.Open(cfg.SearchDir(), embedded.WithLogger(log.With("component", "search")))
		if err != nil {
			return nil, fmt.Errorf("search index in %s: %w", cfg.SearchDir(), err)
		}
		return x, nil
	case config.SearchElasticsearch:
		es := cfg.Search.Elasticsearch
		x, err := elastic.New(elastic.Config{Addresses: es.Addresses, Username: es.Username, Password: es.Password,
			APIKey: es.APIKey, IndexPrefix: es.IndexPrefix, RequestTimeout: es.RequestTimeout})
		if err != nil {
			return nil, fmt.Errorf("search index on Elasticsearch: %w", err)
		}
		// The indices are created at start; a cluster that is down then
		// fails the start with the reason, as the Kafka bus does.
		ctx, cancel := context.WithTimeout(context.Background(), es.RequestTimeout)
		defer cancel()
		if err := x.Ensure(ctx); err != nil {
			_ = x.Close()
			return nil, fmt.Errorf("search index on Elasticsearch %v: %w", es.Addresses, err)
		}
		return x, nil
	default:
		return nil, fmt.Errorf("search.driver %q is not embedded or elasticsearch", cfg.Search.Driver)
	}
}

// closeIndex closes the search index, if open.
func (a *App) closeIndex() {
	if a.index == nil {
		return
	}
	if err := a.index.Close(); err != nil {
		a.log.Error("search index close", "err", err)
	}
	a.index = nil
}

// starterDirectory gives the tenant created at first start a queue, a
// skill, canned answers, a chat widget open to any web page and the admin
// as its first agent, so that a fresh hub answers a chat out of the box.
func (a *App) starterDirectory(ctx context.Context, creds auth.Bootstrap) error {
	st := a.auth.Store()
	acc, ok := st.AccountByLogin(creds.Tenant, creds.Login)
	if !ok {
		return fmt.Errorf("account %q of tenant %q not found after creating it", creds.Login, creds.Tenant)
	}
	lang := "en"
	if t, ok := st.Tenant(creds.Tenant); ok {
		lang = t.Language
	}
	_, err := a.dir.EnsureDefaults(ctx, creds.Tenant, lang, acc.ID, true)
	return err
}

// syncChat keeps the chat channel's tenants, queues and origins in step
// with the directory until ctx ends.
func (a *App) syncChat(ctx context.Context) error {
	changes, stop := a.dir.Subscribe()
	defer stop()
	for {
		if err := a.chat.SetTenants(chatTenants(a.dir)); err != nil {
			a.log.Error("chat widget settings not applied", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changes:
		}
	}
}

// chatTenants is the chat channel's view of the directory: every tenant
// whose widget is configured, with its queues that take chat.
func chatTenants(d *directory.Store) []chat.TenantConfig {
	var out []chat.TenantConfig
	for _, t := range d.Tenants() {
		w := d.Widget(t)
		if len(w.AllowedOrigins) == 0 {
			continue // not embeddable anywhere (the chat channel reads "no list" as "any origin")
		}
		tc := chat.TenantConfig{ID: t, AllowedOrigins: w.AllowedOrigins}
		for _, q := range d.Queues(t) {
			if !q.Takes(event.ChannelChat) {
				continue
			}
			cq := chat.QueueConfig{Name: q.ID, Priority: q.Priority, Skills: q.Skills}
			if q.Hours != nil {
				cq.Hours = *q.Hours
			}
			tc.Queues = append(tc.Queues, cq)
			if q.ID == w.DefaultQueue {
				tc.DefaultQueue = q.ID
			}
		}
		out = append(out, tc)
	}
	return out
}

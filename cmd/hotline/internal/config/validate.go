package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hotline-hub/hotline/bus/event"
)

// ErrInvalid is wrapped by the error Validate returns.
var ErrInvalid = errors.New("invalid configuration")

// Problem is one invalid value, named by its configuration key.
type Problem struct {
	Key string
	Msg string
}

func (p Problem) String() string { return p.Key + ": " + p.Msg }

// ValidationError lists every problem found, not just the first, so that an
// operator fixes a file in one round.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return "invalid configuration:\n  " + strings.Join(lines, "\n  ")
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

type checker struct{ probs []Problem }

// has reports whether a problem was recorded for key or a key under it
// (key[0], key.name), so that a bus's own check does not repeat it.
func (c *checker) has(key string) bool {
	for _, p := range c.probs {
		if p.Key == key || strings.HasPrefix(p.Key, key+"[") || strings.HasPrefix(p.Key, key+".") {
			return true
		}
	}
	return false
}

func (c *checker) add(key, format string, args ...any) {
	c.probs = append(c.probs, Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (c *checker) positive(key string, d time.Duration) {
	if d <= 0 {
		c.add(key, "must be a positive duration, got %v", d)
	}
}

func (c *checker) oneOf(key, got string, allowed ...string) {
	for _, a := range allowed {
		if got == a {
			return
		}
	}
	c.add(key, "must be one of %s, got %q", strings.Join(allowed, ", "), got)
}

// hostPort checks a host:port address; port 0 is allowed where zeroOK.
func (c *checker) hostPort(key, addr string, zeroOK bool) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		c.add(key, "must be host:port, got %q (%v)", addr, err)
		return
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || (n == 0 && !zeroOK) {
		lo := 0
		if !zeroOK {
			lo = 1
		}
		c.add(key, "port must be a number %d..65535, got %q", lo, port)
		return
	}
	if strings.ContainsAny(host, " /\\") {
		c.add(key, "host %q is not a host name or IP address", host)
	}
}

// Validate checks every key and returns a *ValidationError listing all the
// problems, or nil. Each bus section is checked whether or not it is the
// selected driver, so that switching drivers never uncovers an old mistake.
func (c Config) Validate() error {
	var ck checker
	if strings.TrimSpace(c.DataDir) == "" {
		ck.add("data_dir", "must not be empty")
	}
	ck.positive("shutdown_timeout", c.ShutdownTimeout)
	ck.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	ck.oneOf("log.format", c.Log.Format, "text", "json")
	validateRuntime(&ck, c.Runtime)
	ck.hostPort("http.addr", c.HTTP.Addr, true)
	ck.positive("http.ready_timeout", c.HTTP.ReadyTimeout)
	ck.oneOf("bus.driver", c.Bus.Driver, DriverEmbedded, DriverKafka)
	validateEmbedded(&ck, c)
	validateKafka(&ck, c)
	if !event.ValidTenant(c.Auth.DefaultTenant) {
		ck.add("auth.default_tenant", "must be a tenant id (lower-case letters, digits and '-', at most 63), got %q", c.Auth.DefaultTenant)
	}
	ck.positive("auth.session_idle", c.Auth.SessionIdle)
	ck.positive("auth.session_lifetime", c.Auth.SessionLifetime)
	if c.Auth.SessionIdle > c.Auth.SessionLifetime {
		ck.add("auth.session_idle", "must not exceed auth.session_lifetime (%s), got %s", c.Auth.SessionLifetime, c.Auth.SessionIdle)
	}
	validateSearch(&ck, c)
	validateVoice(&ck, c)
	if len(ck.probs) == 0 {
		return nil
	}
	return &ValidationError{Problems: ck.probs}
}

// validateSearch checks the search section, the Elasticsearch keys whether
// or not that driver is selected.
func validateSearch(ck *checker, c Config) {
	ck.oneOf("search.driver", c.Search.Driver, SearchEmbedded, SearchElasticsearch)
	es := c.Search.Elasticsearch
	if len(es.Addresses) == 0 {
		ck.add("search.elasticsearch.addresses", "must list at least one http(s)://host:port")
	}
	for i, a := range es.Addresses {
		u, err := url.Parse(a)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			ck.add(fmt.Sprintf("search.elasticsearch.addresses[%d]", i), "must be http(s)://host:port, got %q", a)
		}
	}
	if es.APIKey != "" && (es.Username != "" || es.Password != "") {
		ck.add("search.elasticsearch.api_key", "set either api_key or username and password, not both")
	}
	if es.IndexPrefix == "" || strings.ToLower(es.IndexPrefix) != es.IndexPrefix || strings.ContainsAny(es.IndexPrefix, ` "*\/<>|,#:?`) {
		ck.add("search.elasticsearch.index_prefix", "must be a non-empty lower-case index name prefix, got %q", es.IndexPrefix)
	}
	ck.positive("search.elasticsearch.request_timeout", es.RequestTimeout)
}

// Package config is Hotline's configuration: one plain struct, its defaults,
// its validation, and the one place where viper reads a YAML file,
// HOTLINE_* environment variables and command-line flags into it.
//
// Precedence, highest first: flags, environment, file, defaults. Decoding is
// strict: a key in the file that Hotline does not know is an error naming
// the key, because a misspelt key silently falling back to its default is
// the hardest kind of misconfiguration to find.
package config

import (
	"time"
)

// Drivers the bus.driver key accepts.
const (
	DriverEmbedded = "embedded"
	DriverKafka    = "kafka"
)

// Config is the whole configuration of the hotline binary. Packages never
// see it: cmd/hotline hands each of them its own plain Config.
type Config struct {
	// DataDir holds everything the process stores on the local disk.
	DataDir string `mapstructure:"data_dir" yaml:"data_dir"`
	// ShutdownTimeout bounds the whole graceful shutdown.
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout" yaml:"shutdown_timeout"`
	Log             Log           `mapstructure:"log" yaml:"log"`
	Runtime         Runtime       `mapstructure:"runtime" yaml:"runtime"`
	HTTP            HTTP          `mapstructure:"http" yaml:"http"`
	Bus             Bus           `mapstructure:"bus" yaml:"bus"`
	Auth            Auth          `mapstructure:"auth" yaml:"auth"`
	Search          Search        `mapstructure:"search" yaml:"search"`
	Voice           Voice         `mapstructure:"voice" yaml:"voice"`
}

// Drivers the search.driver key accepts.
const (
	SearchEmbedded      = "embedded"
	SearchElasticsearch = "elasticsearch"
)

// Search configures the search index behind the dossier and analyst search
// (package search).
type Search struct {
	// Driver is "embedded" (the default: an index on the local disk, in
	// process) or "elasticsearch".
	Driver        string              `mapstructure:"driver" yaml:"driver"`
	Embedded      SearchEmbeddedIndex `mapstructure:"embedded" yaml:"embedded"`
	Elasticsearch Elasticsearch       `mapstructure:"elasticsearch" yaml:"elasticsearch"`
}

// SearchEmbeddedIndex configures the embedded index.
type SearchEmbeddedIndex struct {
	// Dir is where the index lives; empty means <data_dir>/search.
	Dir string `mapstructure:"dir" yaml:"dir"`
}

// Elasticsearch configures the Elasticsearch cluster of search.driver
// elasticsearch.
type Elasticsearch struct {
	// Addresses are the cluster's HTTP endpoints, http(s)://host:port.
	Addresses []string `mapstructure:"addresses" yaml:"addresses"`
	// Username and Password, or APIKey, authenticate; all empty for an
	// open cluster.
	Username string `mapstructure:"username" yaml:"username"`
	Password string `mapstructure:"password" yaml:"password"`
	APIKey   string `mapstructure:"api_key" yaml:"api_key"`
	// IndexPrefix names Hotline's indices and aliases (<prefix>-conversations).
	IndexPrefix string `mapstructure:"index_prefix" yaml:"index_prefix"`
	// RequestTimeout bounds one request to the cluster.
	RequestTimeout time.Duration `mapstructure:"request_timeout" yaml:"request_timeout"`
}

// Auth configures agent sign-in (package webui/auth).
type Auth struct {
	// DefaultTenant is the tenant a login without one goes to, and the one
	// created with an admin account at first start.
	DefaultTenant string `mapstructure:"default_tenant" yaml:"default_tenant"`
	// SessionIdle ends a session after this long without a request.
	SessionIdle time.Duration `mapstructure:"session_idle" yaml:"session_idle"`
	// SessionLifetime ends a session this long after login.
	SessionLifetime time.Duration `mapstructure:"session_lifetime" yaml:"session_lifetime"`
	// SecureCookies marks session cookies Secure on plain HTTP too, for a
	// hub behind a TLS-terminating proxy.
	SecureCookies bool `mapstructure:"secure_cookies" yaml:"secure_cookies"`
}

// Log configures the process's structured log on stderr.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `mapstructure:"level" yaml:"level"`
	// Format is text (logfmt-like, for people) or json (for collectors).
	Format string `mapstructure:"format" yaml:"format"`
}

// HTTP configures the operational HTTP listener (health, readiness, metrics).
type HTTP struct {
	// Addr is host:port to listen on; port 0 picks a free port.
	Addr string `mapstructure:"addr" yaml:"addr"`
	// ReadyTimeout bounds the bus health check behind /readyz.
	ReadyTimeout time.Duration `mapstructure:"ready_timeout" yaml:"ready_timeout"`
}

// Bus selects and configures the message bus.
type Bus struct {
	// Driver is "embedded" (the default, a log on the local disk) or "kafka".
	Driver   string   `mapstructure:"driver" yaml:"driver"`
	Embedded Embedded `mapstructure:"embedded" yaml:"embedded"`
	Kafka    Kafka    `mapstructure:"kafka" yaml:"kafka"`
}

// Embedded mirrors bus/embedded.Config, with Dir defaulting under DataDir.
type Embedded struct {
	// Dir is where the log lives; empty means <data_dir>/bus.
	Dir             string        `mapstructure:"dir" yaml:"dir"`
	Partitions      int           `mapstructure:"partitions" yaml:"partitions"`
	SegmentBytes    int64         `mapstructure:"segment_bytes" yaml:"segment_bytes"`
	RetentionBytes  int64         `mapstructure:"retention_bytes" yaml:"retention_bytes"`
	RetentionAge    time.Duration `mapstructure:"retention_age" yaml:"retention_age"`
	CommitInterval  time.Duration `mapstructure:"commit_interval" yaml:"commit_interval"`
	MaxMessageBytes int           `mapstructure:"max_message_bytes" yaml:"max_message_bytes"`
}

// Kafka mirrors bus/kafka.Config.
type Kafka struct {
	Brokers           []string      `mapstructure:"brokers" yaml:"brokers"`
	ClientID          string        `mapstructure:"client_id" yaml:"client_id"`
	Partitions        int           `mapstructure:"partitions" yaml:"partitions"`
	ReplicationFactor int           `mapstructure:"replication_factor" yaml:"replication_factor"`
	Topics            []KafkaTopic  `mapstructure:"topics" yaml:"topics"`
	BatchTimeout      time.Duration `mapstructure:"batch_timeout" yaml:"batch_timeout"`
	DialTimeout       time.Duration `mapstructure:"dial_timeout" yaml:"dial_timeout"`
	CommitInterval    time.Duration `mapstructure:"commit_interval" yaml:"commit_interval"`
	MaxMessageBytes   int           `mapstructure:"max_message_bytes" yaml:"max_message_bytes"`
}

// KafkaTopic overrides the partition count of one topic. It is a list entry
// rather than a map key because viper lowercases map keys and splits them on
// dots, both of which are legal in topic names.
type KafkaTopic struct {
	Name       string `mapstructure:"name" yaml:"name"`
	Partitions int    `mapstructure:"partitions" yaml:"partitions"`
}

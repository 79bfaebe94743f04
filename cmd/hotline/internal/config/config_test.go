package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hotline.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func envFrom(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// flagsFrom defines the flags the command line has and parses args.
func flagsFrom(t *testing.T, args ...string) map[string]*pflag.Flag {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.String("http-addr", "", "")
	fs.StringSlice("kafka-brokers", nil, "")
	fs.String("shutdown-timeout", "", "")
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return map[string]*pflag.Flag{
		"http.addr":         fs.Lookup("http-addr"),
		"bus.kafka.brokers": fs.Lookup("kafka-brokers"),
		"shutdown_timeout":  fs.Lookup("shutdown-timeout"),
	}
}

func TestPrecedence(t *testing.T) {
	const file = `
http:
  addr: 127.0.0.1:1001
shutdown_timeout: 11s
bus:
  kafka:
    brokers: [file-a:9092, file-b:9092]
`
	type want struct {
		addr     string
		brokers  []string
		shutdown time.Duration
	}
	def := Default()
	tests := []struct {
		name  string
		file  bool
		env   map[string]string
		flags []string
		want  want
	}{
		{"defaults", false, nil, nil, want{def.HTTP.Addr, def.Bus.Kafka.Brokers, def.ShutdownTimeout}},
		{"file over defaults", true, nil, nil, want{"127.0.0.1:1001", []string{"file-a:9092", "file-b:9092"}, 11 * time.Second}},
		{"env over file", true, map[string]string{
			"HOTLINE_HTTP_ADDR":         "127.0.0.1:2002",
			"HOTLINE_BUS_KAFKA_BROKERS": "env-a:9092, env-b:9092",
			"HOTLINE_SHUTDOWN_TIMEOUT":  "22s",
		}, nil, want{"127.0.0.1:2002", []string{"env-a:9092", "env-b:9092"}, 22 * time.Second}},
		{"flag over env over file", true, map[string]string{
			"HOTLINE_HTTP_ADDR":         "127.0.0.1:2002",
			"HOTLINE_BUS_KAFKA_BROKERS": "env-a:9092",
			"HOTLINE_SHUTDOWN_TIMEOUT":  "22s",
		}, []string{"--http-addr=127.0.0.1:3003", "--kafka-brokers=flag-a:9092,flag-b:9092", "--shutdown-timeout=33s"},
			want{"127.0.0.1:3003", []string{"flag-a:9092", "flag-b:9092"}, 33 * time.Second}},
		{"env over defaults without file", false, map[string]string{"HOTLINE_HTTP_ADDR": "127.0.0.1:2002"}, nil,
			want{"127.0.0.1:2002", def.Bus.Kafka.Brokers, def.ShutdownTimeout}},
		{"flag over file, env unset", true, nil, []string{"--http-addr=127.0.0.1:3003"},
			want{"127.0.0.1:3003", []string{"file-a:9092", "file-b:9092"}, 11 * time.Second}},
		{"unchanged flag does not override", true, nil, []string{},
			want{"127.0.0.1:1001", []string{"file-a:9092", "file-b:9092"}, 11 * time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := Sources{Env: envFrom(tc.env), Flags: flagsFrom(t, tc.flags...)}
			if tc.file {
				src.File = writeFile(t, file)
			} else {
				t.Chdir(t.TempDir()) // no ./hotline.yaml to pick up
			}
			cfg, _, err := Load(src)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			got := want{cfg.HTTP.Addr, cfg.Bus.Kafka.Brokers, cfg.ShutdownTimeout}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestDefaultFileInWorkingDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, DefaultFile), []byte("data_dir: /srv/hotline\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	cfg, file, err := Load(Sources{Env: envFrom(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if file != DefaultFile || cfg.DataDir != "/srv/hotline" {
		t.Errorf("file %q data_dir %q, want %q and /srv/hotline", file, cfg.DataDir, DefaultFile)
	}
	if got, want := cfg.EmbeddedDir(), filepath.Join("/srv/hotline", "bus"); got != want {
		t.Errorf("EmbeddedDir = %q, want %q", got, want)
	}
}

func TestMissingNamedFile(t *testing.T) {
	_, _, err := Load(Sources{File: filepath.Join(t.TempDir(), "nope.yaml"), Env: envFrom(nil)})
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Fatalf("err = %v, want one naming the missing file", err)
	}
}

func TestUnknownKeys(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
	}{
		{"top level", "htpp:\n  addr: x\n", []string{"htpp"}},
		{"nested", "bus:\n  embedded:\n    partitons: 3\n", []string{"bus.embedded.partitons"}},
		{"several", "bus:\n  drvier: kafka\n  kafka:\n    broker: [a:1]\nlog:\n  colour: true\n",
			[]string{"bus.drvier", "bus.kafka.broker", "log.colour"}},
		{"value where a section belongs", "http: 127.0.0.1:80\n", []string{"http (a section"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Load(Sources{File: writeFile(t, tc.body), Env: envFrom(nil)})
			if !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("err = %v, want ErrUnknownKey", err)
			}
			for _, k := range tc.want {
				if !strings.Contains(err.Error(), k) {
					t.Errorf("error %q does not name %q", err, k)
				}
			}
		})
	}
}

func TestKnownKeysAccepted(t *testing.T) {
	// Every key Keys() lists must be accepted in a file, in any case.
	var b strings.Builder
	b.WriteString("Data_Dir: /x\nbus:\n  kafka:\n    topics:\n      - name: hotline.conversations\n        partitions: 24\n")
	cfg, _, err := Load(Sources{File: writeFile(t, b.String()), Env: envFrom(nil)})
	if err != nil {
		t.Fatal(err)
	}
	want := []KafkaTopic{{Name: "hotline.conversations", Partitions: 24}}
	if cfg.DataDir != "/x" || !reflect.DeepEqual(cfg.Bus.Kafka.Topics, want) {
		t.Errorf("data_dir %q topics %+v", cfg.DataDir, cfg.Bus.Kafka.Topics)
	}
	if len(Keys()) < 20 {
		t.Errorf("Keys() = %v, too few", Keys())
	}
}

func TestTopicsFromEnv(t *testing.T) {
	cfg, _, err := Load(Sources{Env: envFrom(map[string]string{"HOTLINE_BUS_KAFKA_TOPICS": "a.b=3, c=1"})})
	if err != nil {
		t.Fatal(err)
	}
	want := []KafkaTopic{{"a.b", 3}, {"c", 1}}
	if !reflect.DeepEqual(cfg.Bus.Kafka.Topics, want) {
		t.Errorf("topics = %+v, want %+v", cfg.Bus.Kafka.Topics, want)
	}
	_, _, err = Load(Sources{Env: envFrom(map[string]string{"HOTLINE_BUS_KAFKA_TOPICS": "a.b"})})
	if err == nil || !strings.Contains(err.Error(), "name=partitions") {
		t.Errorf("err = %v, want the topic syntax explained", err)
	}
}

func TestBadValueNamesKey(t *testing.T) {
	tests := []struct{ name, body, key string }{
		{"int", "bus:\n  embedded:\n    partitions: lots\n", "partitions"},
		{"duration", "shutdown_timeout: soon\n", "shutdown_timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Load(Sources{File: writeFile(t, tc.body), Env: envFrom(nil)})
			if err == nil || !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("err = %v, want it to name %s", err, tc.key)
			}
		})
	}
}

func TestEnvName(t *testing.T) {
	for key, want := range map[string]string{
		"http.addr":         "HOTLINE_HTTP_ADDR",
		"bus.driver":        "HOTLINE_BUS_DRIVER",
		"bus.kafka.brokers": "HOTLINE_BUS_KAFKA_BROKERS",
		"data_dir":          "HOTLINE_DATA_DIR",
	} {
		if got := EnvName(key); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]ByteSize{
		"0": 0, "943718400": 900 << 20, "900MiB": 900 << 20, " 1 GiB ": 1 << 30,
		"512KiB": 512 << 10, "2TiB": 2 << 40, "100B": 100,
	} {
		got, err := ParseByteSize(in)
		if err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "900MB", "1.5GiB", "-1", "MiB", "9000000000TiB", "12 apples"} {
		if got, err := ParseByteSize(in); err == nil {
			t.Errorf("ParseByteSize(%q) = %d, want an error", in, got)
		}
	}
	for b, want := range map[ByteSize]string{0: "0", 100: "100", 1536: "1536", 900 << 20: "900MiB", 1 << 30: "1GiB"} {
		if got := b.String(); got != want {
			t.Errorf("ByteSize(%d).String() = %q, want %q", int64(b), got, want)
		}
	}
}

func TestRuntimeFromSources(t *testing.T) {
	cfg, _, err := Load(Sources{
		File: writeFile(t, "runtime:\n  memory_limit: 1GiB\n  gc_percent: 400\n"),
		Env:  envFrom(map[string]string{"HOTLINE_RUNTIME_GC_PERCENT": "-1"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Runtime{MemoryLimit: 1 << 30, GCPercent: -1, SteadySysmon: true}); cfg.Runtime != want {
		t.Errorf("runtime = %+v, want %+v", cfg.Runtime, want)
	}
	cfg, _, err = Load(Sources{
		File: writeFile(t, "runtime:\n  steady_sysmon: true\n"),
		Env:  envFrom(map[string]string{"HOTLINE_RUNTIME_STEADY_SYSMON": "false"}),
	})
	if err != nil || cfg.Runtime.SteadySysmon {
		t.Errorf("steady_sysmon turned off by the environment: runtime = %+v, %v", cfg.Runtime, err)
	}
	if _, _, err = Load(Sources{Env: envFrom(map[string]string{"HOTLINE_RUNTIME_STEADY_SYSMON": "sometimes"})}); err == nil || !strings.Contains(err.Error(), "steady_sysmon") {
		t.Errorf("steady_sysmon: sometimes: %v", err)
	}
	cfg, _, err = Load(Sources{File: writeFile(t, "runtime:\n  memory_limit: 943718400\n"), Env: envFrom(nil)})
	if err != nil || cfg.Runtime.MemoryLimit != 900<<20 {
		t.Errorf("a plain number of bytes: runtime = %+v, %v", cfg.Runtime, err)
	}
	_, _, err = Load(Sources{Env: envFrom(map[string]string{"HOTLINE_RUNTIME_MEMORY_LIMIT": "900MB"})})
	if err == nil || !strings.Contains(err.Error(), "memory_limit") || !strings.Contains(err.Error(), "MiB") {
		t.Errorf("err = %v, want the key named and the units listed", err)
	}
}

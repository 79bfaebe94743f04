package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// EnvPrefix starts every environment variable Hotline reads: the key
// bus.kafka.brokers is HOTLINE_BUS_KAFKA_BROKERS.
const EnvPrefix = "HOTLINE"

// DefaultFile is read when no file is named and it exists in the working
// directory.
const DefaultFile = "hotline.yaml"

// ErrUnknownKey is wrapped by Load for a key in the file that Hotline does
// not know.
var ErrUnknownKey = errors.New("unknown configuration key")

// Sources says where Load reads from besides the defaults.
type Sources struct {
	// File is a YAML file that must exist. Empty means DefaultFile if it
	// exists in the working directory, else no file.
	File string
	// Flags maps configuration keys to the flags that set them. A flag
	// counts only when given on the command line.
	Flags map[string]*pflag.Flag
	// Env looks up an environment variable; nil means os.LookupEnv.
	Env func(string) (string, bool)
}

// EnvName is the environment variable that sets key.
func EnvName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Keys returns every configuration key, dotted, in declaration order.
func Keys() []string {
	var keys []string
	walk(reflect.ValueOf(Default()), "", func(key string, _ reflect.Value) { keys = append(keys, key) })
	return keys
}

// Load reads the configuration from its sources over the defaults and
// decodes it. It does not validate: call Validate. The returned file name is
// the file that was read, or "" if none.
func Load(src Sources) (Config, string, error) {
	v := viper.New()
	lookup := src.Env
	if lookup == nil {
		lookup = os.LookupEnv
	}

	// Defaults first: they also tell viper every key, which environment
	// variables need to be found.
	walk(reflect.ValueOf(Default()), "", func(key string, val reflect.Value) {
		v.SetDefault(key, val.Interface())
	})

	file := src.File
	if file == "" {
		if _, err := os.Stat(DefaultFile); err == nil {
			file = DefaultFile
		}
	}
	if file != "" {
		if err := readFile(v, file); err != nil {
			return Config{}, "", err
		}
	}

	// Environment: viper's AutomaticEnv reads os.Getenv only, so bind each
	// key explicitly from the lookup function (tests pass their own).
	for _, key := range Keys() {
		if val, ok := lookup(EnvName(key)); ok {
			v.Set(key, val) // Set is the highest viper layer; flags override below.
		}
	}
	for key, f := range src.Flags {
		if f != nil && f.Changed {
			v.Set(key, flagValue(f))
		}
	}

	var cfg Config
	err := v.UnmarshalExact(&cfg, viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		mapstructure.StringToTimeDurationHookFunc(),
		stringToTopicsHook(),
		stringToByteSizeHook,
		mapstructure.StringToWeakSliceHookFunc(","),
	)))
	if err != nil {
		return Config{}, file, fmt.Errorf("config: %s", cleanDecodeError(err))
	}
	for i, b := range cfg.Bus.Kafka.Brokers {
		cfg.Bus.Kafka.Brokers[i] = strings.TrimSpace(b)
	}
	return cfg, file, nil
}

// flagValue returns a flag's value in the form viper decodes: slices as
// []string, everything else as its string form.
func flagValue(f *pflag.Flag) any {
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		return sv.GetSlice()
	}
	return f.Value.String()
}

// readFile reads a YAML file into v after checking that every key in it is
// known.
func readFile(v *viper.Viper, file string) error {
	fv := viper.New()
	fv.SetConfigFile(file)
	fv.SetConfigType("yaml")
	if err := fv.ReadInConfig(); err != nil {
		return fmt.Errorf("config: read %s: %w", file, err)
	}
	if probs := unknownKeys(fv.AllSettings(), reflect.TypeOf(Config{}), ""); len(probs) > 0 {
		sort.Strings(probs)
		return fmt.Errorf("config: %s: %w: %s", file, ErrUnknownKey, strings.Join(probs, ", "))
	}
	v.SetConfigFile(file)
	v.SetConfigType("yaml")
	if err := v.ReadInConfig(); err != nil {
		return fmt.Errorf("config: read %s: %w", file, err)
	}
	return nil
}

// unknownKeys lists the dotted keys of settings that t has no field for.
func unknownKeys(settings map[string]any, t reflect.Type, prefix string) []string {
	var out []string
	for k, val := range settings {
		key := prefix + k
		f, ok := fieldByTag(t, k)
		if !ok {
			out = append(out, key)
			continue
		}
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Duration(0)) {
			sub, isMap := val.(map[string]any)
			if !isMap {
				if val == nil {
					continue // an empty section
				}
				out = append(out, key+" (a section, not a value)")
				continue
			}
			out = append(out, unknownKeys(sub, f.Type, key+".")...)
		}
	}
	return out
}

func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if strings.EqualFold(f.Tag.Get("mapstructure"), name) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// walk calls fn for every leaf field of v (a struct) with its dotted key.
func walk(v reflect.Value, prefix string, fn func(key string, val reflect.Value)) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		key := prefix + f.Tag.Get("mapstructure")
		if f.Type.Kind() == reflect.Struct {
			walk(v.Field(i), key+".", fn)
			continue
		}
		fn(key, v.Field(i))
	}
}

// stringToTopicsHook decodes "name=partitions,name=partitions" (how an
// environment variable or flag spells the topic list) into []KafkaTopic.
func stringToTopicsHook() mapstructure.DecodeHookFuncType {
	return func(from, to reflect.Type, data any) (any, error) {
		if from.Kind() != reflect.String || to != reflect.TypeOf([]KafkaTopic{}) {
			return data, nil
		}
		s := strings.TrimSpace(data.(string))
		if s == "" {
			return []KafkaTopic{}, nil
		}
		var topics []KafkaTopic
		for _, item := range strings.Split(s, ",") {
			name, n, ok := strings.Cut(strings.TrimSpace(item), "=")
			if !ok {
				return nil, fmt.Errorf("topic %q: want name=partitions", item)
			}
			p, err := strconv.Atoi(strings.TrimSpace(n))
			if err != nil {
				return nil, fmt.Errorf("topic %q: partitions %q is not a number", name, n)
			}
			topics = append(topics, KafkaTopic{Name: strings.TrimSpace(name), Partitions: p})
		}
		return topics, nil
	}
}

// cleanDecodeError drops mapstructure's preamble so that the message starts
// with the key at fault.
func cleanDecodeError(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "decoding failed due to the following error(s):")
	msg = strings.TrimSpace(msg)
	return strings.ReplaceAll(msg, "\n\n", "; ")
}

package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/hotline-hub/hotline/bus/event/jsondec"
)

// Payload is the typed data of one event type. Every payload type in this
// package implements it with pointer receivers; Envelope.Decode returns
// pointers (*MessageReceivedData, ...), so consumers type-switch on those.
type Payload interface {
	// EventType is the event type this payload is the data of; New checks
	// it against the type it is asked to build.
	EventType() string
	// Validate lists every field that breaks the payload's rules, as a
	// *ValidationError wrapping ErrInvalid.
	Validate() error
}

// BlobRef points at content in Hotline's content-addressed blob store:
// attachments, recordings, voicemail, raw emails. Events carry references
// only, never the bytes, so an event stays small and memory stays flat
// whatever the size of what it describes.
type BlobRef struct {
	// SHA256 is the lowercase hex digest of the content, its address in the
	// blob store.
	SHA256 string `json:"sha256"`
	// Size is the content length in bytes.
	Size int64 `json:"size"`
	// ContentType is the MIME type, e.g. "application/pdf" or "audio/wav".
	ContentType string `json:"content_type"`
	// Name is the file name the sender gave, if any.
	Name string `json:"name,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// MarshalJSON writes the fields and any kept unknown ones.
func (b BlobRef) MarshalJSON() ([]byte, error) {
	return appendBlob(make([]byte, 0, blobSize(b)), &b, keptVerbatim)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra, the
// common shapes by hand (readFast), anything else through encoding/json.
func (b *BlobRef) UnmarshalJSON(data []byte) error {
	if b.readFast(data) {
		return nil
	}
	type plain BlobRef
	return unmarshalKeeping(data, (*plain)(b), &b.Extra)
}

// Validate checks digest, size and content type.
func (b *BlobRef) Validate() error {
	var p problems
	b.check(&p, "")
	return p.err("blob")
}

func (b *BlobRef) check(p *problems, prefix string) {
	if len(b.SHA256) != 64 || strings.IndexFunc(b.SHA256, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f')
	}) >= 0 {
		p.add(prefix+"sha256", "%q is not 64 lowercase hex digits", b.SHA256)
	}
	p.nonNegative(prefix+"size", b.Size)
	if b.ContentType == "" {
		p.add(prefix+"content_type", "is empty")
	} else if _, _, err := mime.ParseMediaType(b.ContentType); err != nil {
		p.add(prefix+"content_type", "%q is not a media type", b.ContentType)
	}
	if strings.ContainsAny(b.Name, "/\\\x00") {
		p.add(prefix+"name", "%q contains a path separator or NUL", b.Name)
	}
}

// Address is one party of a written message: an email address, a phone
// number for SMS, or a chat visitor or widget id.
type Address struct {
	// Address is the channel's own form: "jane@example.com", "+33612345678".
	Address string `json:"address"`
	// Name is the display name, if the channel has one.
	Name string `json:"name,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// MarshalJSON writes the fields and any kept unknown ones. Every message
// event carries addresses, so it is written by hand rather than through
// reflection.
func (a Address) MarshalJSON() ([]byte, error) {
	return appendAddress(make([]byte, 0, addressSize(a)), &a, keptVerbatim)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra. Every
// message event carries addresses, so the common shapes are read by hand
// (readFast); anything else goes through encoding/json.
func (a *Address) UnmarshalJSON(data []byte) error {
	if a.readFast(data) {
		return nil
	}
	type plain Address
	return unmarshalKeeping(data, (*plain)(a), &a.Extra)
}

func checkAddress(p *problems, field string, a Address) {
	if a.Address == "" {
		p.add(field+".address", "is empty")
	} else if strings.ContainsAny(a.Address, "\r\n\x00") {
		p.add(field+".address", "%q contains a line break or NUL", a.Address)
	}
}

// checkAddresses checks each address of list. An element's field name is
// only formatted when it has a problem: every message event is validated
// on its way to the bus.
func checkAddresses(p *problems, field string, list []Address, required bool) {
	if required && len(list) == 0 {
		p.add(field, "is empty")
	}
	for i, a := range list {
		var q problems
		checkAddress(&q, "", a)
		p.prefixed(q, field, i, "")
	}
}

func checkBlobs(p *problems, field string, list []BlobRef) {
	for i := range list {
		var q problems
		list[i].check(&q, "")
		p.prefixed(q, field, i, ".")
	}
}

// prefixed adds the problems q found in element i of the list field,
// their field names prefixed with "field[i]" and sep.
func (p *problems) prefixed(q problems, field string, i int, sep string) {
	if len(q) == 0 {
		return
	}
	prefix := fmt.Sprintf("%s[%d]%s", field, i, sep)
	for _, x := range q {
		*p = append(*p, Problem{Field: prefix + x.Field, Msg: x.Msg})
	}
}

func checkLanguage(p *problems, field, lang string) {
	if lang != "" && !validLanguage(lang) {
		p.add(field, "%q is not a BCP 47 language tag", lang)
	}
}

func checkNumber(p *problems, field, n string) {
	if n == "" {
		p.add(field, "is empty")
	} else if !validNumber(n) {
		p.add(field, "%q is not a phone number, sip:/tel: URI or \"anonymous\"", n)
	}
}

// knownFields caches, per struct type, the lowercased JSON names of its
// fields. encoding/json matches names case-insensitively on decode, so a
// field only counts as unknown if no known name folds to it.
var knownFields sync.Map // reflect.Type -> map[string]bool

func fieldNames(t reflect.Type) map[string]bool {
	if m, ok := knownFields.Load(t); ok {
		return m.(map[string]bool)
	}
	m := make(map[string]bool)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[strings.ToLower(name)] = true
	}
	knownFields.Store(t, m)
	return m
}

// unmarshalKeeping decodes data into v (a payload's plain alias type, which
// has no UnmarshalJSON of its own) and stores the members v's type does not
// know in *extra, so that marshalKeeping writes them back unchanged. It scans
// the object's top-level members itself rather than decoding it a second
// time into a map: consumers decode every event they read.
func unmarshalKeeping[T any](data []byte, v *T, extra *map[string]json.RawMessage) error {
	if err := json.Unmarshal(data, v); err != nil {
		return err
	}
	*extra = nil
	known := fieldNames(reflect.TypeFor[T]())
	var err error
	eachMember(data, func(key []byte, escaped bool, value []byte) {
		if !escaped && known[string(key)] { // the common case: no allocation
			return
		}
		name := string(key)
		if escaped {
			if jerr := json.Unmarshal(append(append([]byte{'"'}, key...), '"'), &name); jerr != nil {
				err = jerr
				return
			}
		}
		if known[name] || known[asciiLower(name)] {
			return
		}
		if *extra == nil {
			*extra = make(map[string]json.RawMessage)
		}
		(*extra)[name] = bytes.Clone(value)
	})
	return err
}

// asciiLower lowercases ASCII letters, allocating only if there are any.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// eachMember calls fn with each top-level member of the JSON object data,
// which the caller has already decoded successfully (so it is valid JSON);
// anything else, like null, has no members. key is the raw text between the
// quotes; escaped says it holds backslash escapes or invalid UTF-8, and so
// must be unquoted the way encoding/json does to give the member's name.
func eachMember(data []byte, fn func(key []byte, escaped bool, value []byte)) {
	s := jsondec.NewScanner(data)
	if !s.BeginObject() {
		return
	}
	for {
		key, escaped, ok := s.NextMember()
		if !ok {
			return
		}
		value, ok := s.Skip()
		if !ok {
			return
		}
		fn(key, escaped, value)
	}
}

// keptNames are the names of extra that fold to none of T's JSON fields,
// sorted: the kept fields written after the known ones.
func keptNames[T any](extra map[string]json.RawMessage) []string {
	known := fieldNames(reflect.TypeFor[T]())
	keys := make([]string, 0, len(extra))
	for k := range extra {
		if !known[strings.ToLower(k)] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// marshalKeeping encodes v and appends the kept unknown fields, sorted by
// name. A kept field never overrides a known one.
func marshalKeeping[T any](v T, extra map[string]json.RawMessage) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || len(extra) == 0 {
		return b, err
	}
	keys := keptNames[T](extra)
	b = bytes.TrimRight(b, " \n")
	if len(b) < 2 || b[len(b)-1] != '}' {
		return nil, fmt.Errorf("event: payload of type %T does not encode as a JSON object", v)
	}
	b = b[:len(b)-1]
	for _, k := range keys {
		raw := extra[k]
		if !json.Valid(raw) {
			return nil, fmt.Errorf("event: kept field %q is not valid JSON", k)
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = append(b, raw...)
	}
	return append(b, '}'), nil
}

package jsondec

import (
	"encoding/json"
	"testing"
)

// stringsRef is what encoding/json decodes the test objects into.
type stringsRef struct {
	Type string `json:"type"`
	ID   string `json:"client_id"`
	Text string `json:"text"`
}

var refNames = []string{"type", "client_id", "text"}

// checkStrings fails when Strings takes data but encoding/json rejects it
// or reads other values, and reports whether Strings took it.
func checkStrings(t *testing.T, data []byte) bool {
	t.Helper()
	vals := make([]string, len(refNames))
	set, ok := Strings(data, refNames, vals)
	if !ok {
		return false
	}
	var ref stringsRef
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatalf("Strings took %q, which encoding/json rejects: %v", data, err)
	}
	want := []string{ref.Type, ref.ID, ref.Text}
	for i := range refNames {
		if set&(1<<i) == 0 && vals[i] != "" || vals[i] != want[i] {
			t.Fatalf("Strings(%q): %s = %q (set %b), encoding/json reads %q", data, refNames[i], vals[i], set, want[i])
		}
	}
	return true
}

func TestStrings(t *testing.T) {
	for _, tc := range []struct {
		in   string
		take bool
	}{
		{`{"type":"message","client_id":"c-1","text":"bonjour"}`, true},
		{` { "text" : "a\"b\\c\n\u00e9\ud83d\ude00\ud800" , "type":"message" } `, true},
		{`{}`, true},
		{`{"text":"<script>alert(1)</script> привет"}`, true},
		{"{\"text\":\"\xff\xfe\"}", true},
		{`{"Type":"message"}`, false},         // another case: encoding/json's rules
		{`{"ty\u0070e":"message"}`, false},    // escaped name
		{`{"type":"a","type":"b"}`, false},    // repeated
		{`{"type":null}`, false},              // null keeps the field
		{`{"type":"a","active":true}`, false}, // another member
		{`{"type":1}`, false},                 // not a string
		{`{"type":"a"} x`, false},             // trailing text
		{`{"type":"a",}`, false},              // invalid
		{`{"type":"a"`, false},                // truncated
		{"{\"text\":\"a\x01\"}", false},       // control character
		{`{"text":"\x"}`, false},              // bad escape
		{`["type"]`, false},                   // not an object
		{``, false},
	} {
		if got := checkStrings(t, []byte(tc.in)); got != tc.take {
			t.Errorf("Strings(%q) took it: %v, want %v", tc.in, got, tc.take)
		}
	}
}

func FuzzStrings(f *testing.F) {
	f.Add([]byte(`{"type":"message","client_id":"c-1","text":"bonjour"}`))
	f.Add([]byte(`{"text":"\ud83d\ude00\u0041\n","type":""}`))
	f.Add([]byte(`{"TEXT":"a","type":null}`))
	f.Fuzz(func(t *testing.T, data []byte) { checkStrings(t, data) })
}

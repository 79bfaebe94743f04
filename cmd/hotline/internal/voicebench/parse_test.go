package voicebench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// statFixture is a statistics file written by sipp 3.6.1 (-trace_stat) in
// a run of the bench's caller: a header, a periodic line and the last one.
func statFixture(t *testing.T) (header []string, last []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "stat.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 {
		t.Fatalf("fixture has %d lines", len(lines))
	}
	return strings.Split(lines[0], ";"), strings.Split(lines[2], ";")
}

func TestParseStatCSV(t *testing.T) {
	header, last := statFixture(t)
	set := func(fields []string, col, v string) {
		for i, h := range header {
			if h == col {
				fields[i] = v
				return
			}
		}
		t.Fatalf("no column %s in the fixture", col)
	}
	failing := append([]string(nil), last...)
	set(failing, "SuccessfulCall(C)", "17")
	set(failing, "FailedCall(C)", "3")
	set(failing, "FailedUnexpectedMessage(C)", "2")
	set(failing, "FailedMaxUDPRetrans(C)", "1")
	set(failing, "Retransmissions(C)", "9")
	join := func(lines ...[]string) string {
		var b strings.Builder
		for _, l := range lines {
			b.WriteString(strings.Join(l, ";") + "\n")
		}
		return b.String()
	}
	tests := []struct {
		name    string
		in      string
		want    SippStats
		wantErr string
	}{
		{name: "sipp's file", in: join(header, last, last),
			want: SippStats{Outgoing: 20, Successful: 20}},
		{name: "the last line counts", in: join(header, last, failing),
			want: SippStats{Outgoing: 20, Successful: 17, Failed: 3, Retransmissions: 9,
				FailedBy: map[string]int{"unexpected message (e.g. 503)": 2, "no answer after retransmissions": 1}}},
		{name: "CRLF and blank lines", in: strings.ReplaceAll(join(header, last), "\n", "\r\n\r\n"),
			want: SippStats{Outgoing: 20, Successful: 20}},
		{name: "header only", in: join(header), wantErr: "no data line"},
		{name: "empty", in: "", wantErr: "no data line"},
		{name: "missing column", in: "OutgoingCall(C);SuccessfulCall(C)\n1;1\n", wantErr: "no column FailedCall(C)"},
		{name: "not a number", in: strings.Replace(join(header, last), ";20;", ";x;", 1), wantErr: "invalid syntax"},
		{name: "short line", in: join(header, last[:5]), wantErr: "short line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStatCSV(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Outgoing != tt.want.Outgoing || got.Successful != tt.want.Successful || got.Failed != tt.want.Failed ||
				got.Retransmissions != tt.want.Retransmissions || len(got.FailedBy) != len(tt.want.FailedBy) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for k, v := range tt.want.FailedBy {
				if got.FailedBy[k] != v {
					t.Errorf("FailedBy[%q] = %d, want %d", k, got.FailedBy[k], v)
				}
			}
		})
	}
}

func TestParseRTT(t *testing.T) {
	in := "Date_ms;response_time_ms;rtd_no\n" +
		"104.001;0;1\n" +
		"204.5;12;1\n" +
		"250;7.5;2\n" + // another response time: ignored
		"garbage\n" +
		"304.001;3;1\n" +
		"x;1;1\n"
	got, err := ParseRTT(strings.NewReader(in), "1")
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{0, 12 * time.Millisecond, 3 * time.Millisecond}
	if len(got.Samples) != len(want) {
		t.Fatalf("samples = %v, want %v", got.Samples, want)
	}
	for i := range want {
		if got.Samples[i] != want[i] {
			t.Errorf("sample %d = %s, want %s", i, got.Samples[i], want[i])
		}
	}
	if got.First != 104.001 || got.Last != 304.001 {
		t.Errorf("span %v-%v, want 104.001-304.001", got.First, got.Last)
	}
	if got.FirstSent != 104.001 || got.LastSent != 301.001 {
		t.Errorf("sent %v-%v, want 104.001-301.001", got.FirstSent, got.LastSent)
	}
	if got.Unparseable != 2 {
		t.Errorf("unparseable = %d, want 2", got.Unparseable)
	}
	other, err := ParseRTT(strings.NewReader(in), "2")
	if err != nil || len(other.Samples) != 1 || other.Samples[0] != 7500*time.Microsecond {
		t.Errorf("rtd 2: %+v, %v", other, err)
	}
	empty, err := ParseRTT(strings.NewReader(""), "1")
	if err != nil || len(empty.Samples) != 0 || empty.First != 0 {
		t.Errorf("empty: %+v, %v", empty, err)
	}
}

const procNetUDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            
  100: 0100007F:C350 0100007F:9C41 07 00000000:00000000 00:00000000 00000000     0        0 4711 2 0000000000000000 12       
  101: 0100007F:C352 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4712 2 0000000000000000 0        
  102: 0100007F:EA60 00000000:0000 07 00000000:0001A400 00:00000000 00000000     0        0 4713 2 0000000000000000 99       
  103: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4714 2 0000000000000000 5        
`

func TestParseProcNetUDP(t *testing.T) {
	socks, err := ParseProcNetUDP(strings.NewReader(procNetUDP))
	if err != nil {
		t.Fatal(err)
	}
	want := []UDPSocket{{50000, 4711, 12}, {50002, 4712, 0}, {60000, 4713, 99}, {68, 4714, 5}}
	if len(socks) != len(want) {
		t.Fatalf("got %v", socks)
	}
	for i := range want {
		if socks[i] != want[i] {
			t.Errorf("socket %d = %+v, want %+v", i, socks[i], want[i])
		}
	}
	if _, err := ParseProcNetUDP(strings.NewReader("  1: 0100007F:ZZZZ 0 07 0 0 0 0 0 1 2 0 3\n")); err == nil {
		t.Error("a bad port parsed")
	}

	// Only this process's sockets in the range count, each at its highest.
	d := newUDPDrops(50000, 59999, 50002)
	own := map[uint64]bool{4711: true, 4712: true, 4713: true}
	if err := d.read(strings.NewReader(procNetUDP), own); err != nil {
		t.Fatal(err)
	}
	lower := strings.Replace(procNetUDP, "0000000000000000 12 ", "0000000000000000 3  ", 1)
	if err := d.read(strings.NewReader(lower), own); err != nil {
		t.Fatal(err)
	}
	if rtp, sip := d.total(); rtp != 12 || sip != 0 {
		t.Errorf("drops = %d, sip %d; want 12, 0 (port 60000 is out of range, inode 4714 not ours)", rtp, sip)
	}
	if err := d.read(strings.NewReader(procNetUDP), map[uint64]bool{}); err != nil {
		t.Fatal(err)
	}
	if rtp, _ := d.total(); rtp != 12 {
		t.Errorf("foreign sockets changed the total: %d", rtp)
	}
	sipBusy := strings.Replace(procNetUDP, "4712 2 0000000000000000 0 ", "4712 2 0000000000000000 7 ", 1)
	if err := d.read(strings.NewReader(sipBusy), own); err != nil {
		t.Fatal(err)
	}
	if rtp, sip := d.total(); rtp != 12 || sip != 7 {
		t.Errorf("the SIP port's drops: rtp %d, sip %d; want 12, 7", rtp, sip)
	}
}

func TestSummarize(t *testing.T) {
	var s []time.Duration
	for i := 100; i >= 1; i-- {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	l := Summarize(s)
	if l.Samples != 100 || l.P50 != 50*time.Millisecond || l.P90 != 90*time.Millisecond ||
		l.P99 != 99*time.Millisecond || l.Max != 100*time.Millisecond {
		t.Errorf("got %+v", l)
	}
	if got := Summarize(nil); got != (Latency{}) {
		t.Errorf("no samples: %+v", got)
	}
	if got := Summarize([]time.Duration{7}); got.P50 != 7 || got.P99 != 7 || got.Max != 7 {
		t.Errorf("one sample: %+v", got)
	}
}

func TestWriteScenario(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"uac", "uas"} {
		path, err := writeScenario(dir, name, "")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), "MEDIA_") || strings.Contains(string(b), "rtp_stream=") {
			t.Errorf("%s without media still has media lines", name)
		}
		path, err = writeScenario(dir, name, "/tmp/a b/caller.ulaw")
		if err != nil {
			t.Fatal(err)
		}
		b, _ = os.ReadFile(path)
		s := string(b)
		if !strings.Contains(s, `<exec rtp_stream="/tmp/a b/caller.ulaw,-1,0"/>`) || !strings.Contains(s, `<exec rtp_stream="pause"/>`) ||
			strings.Contains(s, "MEDIA_") {
			t.Errorf("%s with media:\n%s", name, s)
		}
		if strings.Index(s, `rtp_stream="pause"`) < strings.Index(s, `,-1,0"`) {
			t.Errorf("%s: the stream is paused before it starts", name)
		}
	}
	if _, err := writeScenario(dir, "uac", "/tmp/a,b.ulaw"); err == nil {
		t.Error("a path with a comma was accepted (rtp_stream splits on commas)")
	}
	if _, err := writeScenario(dir, "nope", ""); err == nil {
		t.Error("an unknown scenario was written")
	}
}

func TestShares(t *testing.T) {
	o := Defaults(ModeRate)
	o.SippProcs = 3
	c := &coordinator{o: o}
	calls := 0
	rate := 0.0
	for _, s := range c.shares() {
		calls += s.calls
		rate += s.rate
		if s.limit < 1 || s.limit > s.calls {
			t.Errorf("limit %d for %d calls", s.limit, s.calls)
		}
	}
	if calls != 9000 || rate < 299.999 || rate > 300.001 {
		t.Errorf("rate mode: %d calls at %g/s, want 9000 at 300/s", calls, rate)
	}
	o = Defaults(ModeConcurrent)
	o.Calls = 1001
	c = &coordinator{o: o}
	calls = 0
	for _, s := range c.shares() {
		calls += s.calls
		if s.limit != s.calls {
			t.Errorf("concurrent: limit %d for %d calls", s.limit, s.calls)
		}
	}
	if calls != 1001 {
		t.Errorf("concurrent: %d calls, want 1001", calls)
	}
}

func TestValidate(t *testing.T) {
	base := Defaults(ModeConcurrent)
	base.Log = discard()
	if err := base.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	tests := []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"mode", func(o *Options) { o.Mode = "burst" }, "mode must be"},
		{"hold shorter than the ramp", func(o *Options) { o.Hold = 12 * time.Second }, "must exceed the ramp"},
		{"rate", func(o *Options) { o.Rate = 0 }, "rate must be positive"},
		{"calls", func(o *Options) { o.Calls = 0 }, "calls must be at least 1"},
		{"procs", func(o *Options) { o.SippProcs = 0 }, "sipp processes"},
		{"ports", func(o *Options) { o.RTPPortMin, o.RTPPortMax = 100, 200 }, "rtp ports"},
		{"duration", func(o *Options) { o.Mode = ModeRate; o.Duration = 0 }, "duration must be"},
		{"logger", func(o *Options) { o.Log = nil }, "no logger"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			tt.edit(&o)
			if err := o.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

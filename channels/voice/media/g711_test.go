package media

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestG711KnownValues(t *testing.T) {
	encodes := []struct {
		pcm        int16
		ulaw, alaw byte
	}{
		{0, 0xFF, 0xD5},
		{-1, 0xFF, 0xD5},
		{-5, 0x7E, 0x55},
		{32767, 0x80, 0xAA},
		{-32768, 0x00, 0x2A},
		{8, 0xFE, 0xD5},
		{16, 0xFD, 0xD4},
	}
	for _, tt := range encodes {
		var u, a [1]byte
		EncodeULaw(u[:], []int16{tt.pcm})
		EncodeALaw(a[:], []int16{tt.pcm})
		if u[0] != tt.ulaw {
			t.Errorf("µ-law(%d) = %#02x, want %#02x", tt.pcm, u[0], tt.ulaw)
		}
		if a[0] != tt.alaw {
			t.Errorf("A-law(%d) = %#02x, want %#02x", tt.pcm, a[0], tt.alaw)
		}
	}
	decodes := []struct {
		law  string
		code byte
		want int16
	}{
		{"µ", 0xFF, 0},
		{"µ", 0x7F, 0},
		{"µ", 0x80, 32124},
		{"µ", 0x00, -32124},
		{"A", 0xD5, 8},
		{"A", 0x55, -8},
		{"A", 0xAA, 32256},
		{"A", 0x2A, -32256},
	}
	for _, tt := range decodes {
		var got [1]int16
		if tt.law == "µ" {
			DecodeULaw(got[:], []byte{tt.code})
		} else {
			DecodeALaw(got[:], []byte{tt.code})
		}
		if got[0] != tt.want {
			t.Errorf("%s-law decode %#02x = %d, want %d", tt.law, tt.code, got[0], tt.want)
		}
	}
}

// TestG711FullRange checks, for every 16-bit sample, that the round trip
// is monotonic and within the quantisation step of its segment, and that
// every code re-encodes to itself.
func TestG711FullRange(t *testing.T) {
	for _, c := range []Codec{PCMU, PCMA} {
		t.Run(c.Name, func(t *testing.T) {
			pcm := make([]int16, 65536)
			for i := range pcm {
				pcm[i] = int16(i - 32768)
			}
			enc := make([]byte, len(pcm))
			dec := make([]int16, len(pcm))
			c.encode(enc, pcm)
			c.decode(dec, enc)
			for i := 1; i < len(pcm); i++ {
				if dec[i] < dec[i-1] {
					t.Fatalf("not monotonic: %d -> %d but %d -> %d", pcm[i-1], dec[i-1], pcm[i], dec[i])
				}
			}
			for i, s := range pcm {
				x := int(s)
				step := 1 << 4 // A-law's finest step on 16 bits; µ-law's is 8
				if mag := max(x, -x); mag > 256 {
					step = mag / 8 // each segment has 16 steps over a doubling
				}
				if diff := int(dec[i]) - x; diff > step || diff < -step {
					t.Fatalf("%d decodes to %d, off by more than %d", s, dec[i], step)
				}
			}
			for code := range 256 {
				var d [1]int16
				var e [1]byte
				c.decode(d[:], []byte{byte(code)})
				c.encode(e[:], d[:])
				var back [1]int16
				c.decode(back[:], e[:])
				if back[0] != d[0] {
					t.Errorf("code %#02x: %d re-encodes to %#02x = %d", code, d[0], e[0], back[0])
				}
			}
		})
	}
}

// TestG711MatchesSox compares the encoders with sox's on every sample.
func TestG711MatchesSox(t *testing.T) {
	if _, err := exec.LookPath("sox"); err != nil {
		t.Skip("sox not installed")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "all.raw")
	raw := make([]byte, 2*65536)
	pcm := make([]int16, 65536)
	for i := range pcm {
		pcm[i] = int16(i - 32768)
		binary.LittleEndian.PutUint16(raw[2*i:], uint16(pcm[i]))
	}
	if err := os.WriteFile(in, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		enc   string
		codec Codec
	}{{"u-law", PCMU}, {"a-law", PCMA}} {
		out := filepath.Join(dir, tt.enc+".raw")
		cmd := exec.Command("sox", "-D", "-t", "raw", "-r", "8000", "-e", "signed-integer", "-b", "16", "-c", "1", "-L", in,
			"-t", "raw", "-e", tt.enc, "-b", "8", out)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sox: %v: %s", err, b)
		}
		want, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(pcm))
		tt.codec.encode(got, pcm)
		if len(want) != len(got) {
			t.Fatalf("%s: sox wrote %d bytes, want %d", tt.enc, len(want), len(got))
		}
		bad := 0
		for i := range got {
			if got[i] != want[i] {
				if bad < 5 {
					t.Errorf("%s(%d) = %#02x, sox says %#02x", tt.enc, pcm[i], got[i], want[i])
				}
				bad++
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of 65536 samples differ from sox", tt.enc, bad)
		}

		codes := filepath.Join(dir, tt.enc+"-codes.raw")
		all := make([]byte, 256)
		for i := range all {
			all[i] = byte(i)
		}
		if err := os.WriteFile(codes, all, 0o644); err != nil {
			t.Fatal(err)
		}
		lin := filepath.Join(dir, tt.enc+"-lin.raw")
		cmd = exec.Command("sox", "-D", "-t", "raw", "-r", "8000", "-e", tt.enc, "-b", "8", "-c", "1", codes,
			"-t", "raw", "-e", "signed-integer", "-b", "16", "-L", lin)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sox: %v: %s", err, b)
		}
		raw, err := os.ReadFile(lin)
		if err != nil || len(raw) != 512 {
			t.Fatalf("sox decoded %d bytes: %v", len(raw), err)
		}
		dec := make([]int16, 256)
		tt.codec.decode(dec, all)
		for i := range dec {
			if want := int16(binary.LittleEndian.Uint16(raw[2*i:])); dec[i] != want {
				t.Errorf("%s decode %#02x = %d, sox says %d", tt.enc, i, dec[i], want)
			}
		}
	}
}

func TestTranscodeTables(t *testing.T) {
	for code := range 256 {
		var u, a [1]int16
		var x [1]byte
		transcode(x[:], []byte{byte(code)}, PCMU, PCMA)
		DecodeULaw(u[:], []byte{byte(code)})
		DecodeALaw(a[:], x[:])
		if d := int(u[0]) - int(a[0]); d > max(int(u[0]), -int(u[0]))/8+16 || -d > max(int(u[0]), -int(u[0]))/8+16 {
			t.Errorf("µ %#02x (%d) -> A %#02x (%d)", code, u[0], x[0], a[0])
		}
	}
	src := []byte{1, 2, 3}
	dst := make([]byte, 3)
	transcode(dst, src, PCMA, PCMA)
	if string(dst) != string(src) {
		t.Errorf("same-law transcode changed the payload")
	}
}

func TestG711DoesNotAllocate(t *testing.T) {
	pcm := make([]int16, 160)
	b := make([]byte, 160)
	allocs := testing.AllocsPerRun(100, func() {
		EncodeULaw(b, pcm)
		DecodeULaw(pcm, b)
		EncodeALaw(b, pcm)
		DecodeALaw(pcm, b)
	})
	if allocs != 0 {
		t.Errorf("G.711 conversions allocate %.1f times per run", allocs)
	}
}

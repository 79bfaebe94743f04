package auth

import (
	"net/http"
	"testing"
	"time"
)

// BenchmarkVerifyPassword measures one argon2id verification at the
// default cost: the CPU a login costs.
func BenchmarkVerifyPassword(b *testing.B) {
	h, err := HashPassword("a long enough password", DefaultHashParams)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if ok, err := VerifyPassword("a long enough password", h); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/verify")
	b.ReportMetric(float64(DefaultHashParams.Memory)/1024, "MiB/verify")
}

// BenchmarkLoginParallel is logins through the HTTP handler, with the
// default argon2id cost, from many goroutines at once: the rate one
// instance sustains when a shift logs in.
func BenchmarkLoginParallel(b *testing.B) {
	bb := openBus(b)
	clock := newFakeClock()
	e := startAuth(b, bb, clock, Config{Hash: DefaultHashParams, LoginBurst: 1 << 30, LoginRatePerMinute: 1 << 30})
	boot, _, err := e.a.EnsureBootstrap(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := e.a.Login(b.Context(), "127.0.0.1", "demo", "admin", boot.Password, "bench")
			if err != nil || res.Token == "" {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "logins/s")
}

// BenchmarkAuthenticate is the per-request cost of a session check.
func BenchmarkAuthenticate(b *testing.B) {
	bb := openBus(b)
	e := startAuth(b, bb, newFakeClock(), Config{Hash: testHash})
	boot, _, err := e.a.EnsureBootstrap(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	res, err := e.a.Login(b.Context(), "127.0.0.1", "demo", "admin", boot.Password, "bench")
	if err != nil {
		b.Fatal(err)
	}
	h := e.a.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	req, _ := http.NewRequest("GET", "/api/v1/auth/me", nil)
	req.AddCookie(&http.Cookie{Name: CookieName, Value: res.Token})
	w := discardWriter{h: http.Header{}}
	b.ResetTimer()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/request")
}

type discardWriter struct{ h http.Header }

func (d discardWriter) Header() http.Header         { return d.h }
func (d discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d discardWriter) WriteHeader(int)             {}

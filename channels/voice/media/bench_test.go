package media

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

func BenchmarkEncodeULaw(b *testing.B) {
	pcm := Tone([]float64{440}, 20*time.Millisecond).Samples()
	dst := make([]byte, len(pcm))
	b.SetBytes(int64(len(pcm)))
	b.ReportAllocs()
	for b.Loop() {
		EncodeULaw(dst, pcm)
	}
}

func BenchmarkDecodeALaw(b *testing.B) {
	src := make([]byte, frameSamples)
	dst := make([]int16, frameSamples)
	b.SetBytes(frameSamples)
	b.ReportAllocs()
	for b.Loop() {
		DecodeALaw(dst, src)
	}
}

// BenchmarkSessionPlay runs n calls at once over loopback: each hub
// session plays a one-second prompt to a peer session while recording
// both directions and the peer plays one second back. One op is one such
// round for all calls. It reports the CPU time used per op, the RTP
// packets sent and lost, and the heap held per call.
func BenchmarkSessionPlay(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("calls=%d", n), func(b *testing.B) { benchCalls(b, n) })
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchCalls(b *testing.B, n int) {
	ports := testPorts(b, 2*n+50)
	dir := b.TempDir()
	hub := make([]*Session, n)
	far := make([]*Session, n)
	for i := range n {
		hub[i], far[i] = listen(b, ports), listen(b, ports)
	}
	for i := range n {
		if err := hub[i].Start(far[i].LocalAddr(), PCMU, 101); err != nil {
			b.Fatal(err)
		}
		if err := far[i].Start(hub[i].LocalAddr(), PCMU, 101); err != nil {
			b.Fatal(err)
		}
	}
	prompt := Tone([]float64{440, 660, 880, 660, 440}, 200*time.Millisecond)
	ctx := context.Background()
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var heapPerCall float64
	cpu0 := cpuTime()
	b.ResetTimer()
	for range b.N {
		recs := make([]*Recorder, n)
		for i := range n {
			r, err := hub[i].StartRecording(filepath.Join(dir, fmt.Sprintf("call-%d.wav", i)))
			if err != nil {
				b.Fatal(err)
			}
			recs[i] = r
		}
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(2)
			go func() { defer wg.Done(); hub[i].Play(ctx, prompt, false) }()
			go func() { defer wg.Done(); far[i].Play(ctx, prompt, false) }()
		}
		time.Sleep(prompt.Duration() / 2)
		var mid runtime.MemStats
		runtime.ReadMemStats(&mid)
		heapPerCall = float64(int64(mid.HeapInuse)-int64(before.HeapInuse)) / float64(n)
		wg.Wait()
		time.Sleep(100 * time.Millisecond) // the last packets in flight
		for _, r := range recs {
			if _, _, err := r.Stop(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	var sent, recv uint64
	for i := range n {
		sent += hub[i].Stats().PacketsOut + far[i].Stats().PacketsOut
		recv += hub[i].Stats().PacketsIn + far[i].Stats().PacketsIn
	}
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(sent)/float64(b.N), "pkts/op")
	b.ReportMetric(float64(sent-recv)/float64(b.N), "lost/op")
	b.ReportMetric(heapPerCall/1024, "heap-KiB/call")
}

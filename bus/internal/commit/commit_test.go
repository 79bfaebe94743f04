package commit

import (
	"reflect"
	"testing"
)

func TestTrackerCommitsContiguousPrefix(t *testing.T) {
	tests := []struct {
		name      string
		delivered []int64
		acks      []int64
		want      map[int]int64 // nil: nothing moved
	}{
		{"nothing acked", []int64{0, 1, 2}, nil, nil},
		{"in order", []int64{0, 1, 2}, []int64{0, 1}, map[int]int64{0: 2}},
		{"gap holds back", []int64{0, 1, 2}, []int64{1, 2}, nil},
		{"gap filled", []int64{0, 1, 2}, []int64{2, 1, 0}, map[int]int64{0: 3}},
		{"sparse offsets", []int64{5, 9, 12}, []int64{5, 9}, map[int]int64{0: 10}},
		{"unknown offset ignored", []int64{0}, []int64{7}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := New()
			tr.Start(0, tt.delivered[0])
			for _, o := range tt.delivered {
				tr.Delivered(0, o)
			}
			for _, o := range tt.acks {
				tr.Ack(0, o)
			}
			if got := tr.Committable(); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Committable() = %v, want %v", got, tt.want)
			}
			if got := tr.Committable(); got != nil {
				t.Fatalf("second Committable() = %v, want nil", got)
			}
		})
	}
}

func TestTrackerStopAndRedo(t *testing.T) {
	tr := New()
	tr.Start(3, 10)
	tr.Delivered(3, 10)
	if !tr.Ack(3, 10) {
		t.Fatal("Ack of a delivered offset reported false")
	}
	got := tr.Committable()
	if got[3] != 11 {
		t.Fatalf("Committable() = %v, want 3:11", got)
	}
	tr.Redo(got)
	if again := tr.Committable(); again[3] != 11 {
		t.Fatalf("after Redo, Committable() = %v, want 3:11", again)
	}
	tr.Stop(3)
	if tr.Delivered(3, 11) || tr.Ack(3, 11) {
		t.Fatal("a stopped partition still accepted deliveries or acks")
	}
	if n, ok := tr.Next(3); ok {
		t.Fatalf("Next after Stop = %d, true", n)
	}
}

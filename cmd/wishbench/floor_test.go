package main

import (
	"context"
	"testing"
	"time"

	"github.com/wishgate/wishgate/internal/client"
)

// The physical floors as Go benchmarks (the load tool measures the same
// thing in each run). ns/op is the sending thread's wall time per packet;
// the "cpu-ns/pkt" metric is its CPU time, which the load tool uses.
func BenchmarkFloorPionWriteRTP(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sizes := packetSizes(client.SynthConfig{})
	b.ReportAllocs()
	b.ResetTimer()
	d, err := pionFloor(ctx, b.N, sizes)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(d.Nanoseconds()), "cpu-ns/pkt")
}

func BenchmarkFloorSRTPGCMSendto(b *testing.B) {
	sizes := packetSizes(client.SynthConfig{})
	b.ReportAllocs()
	b.ResetTimer()
	d, err := srtpFloor(b.N, sizes)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(d.Nanoseconds()), "cpu-ns/pkt")
}

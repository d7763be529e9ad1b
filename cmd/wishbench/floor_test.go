package main

import (
	"context"
	"testing"
	"time"

	"github.com/wishgate/wishgate/internal/client"
)

// The physical floors as Go benchmarks: b.N rounds of one packet to each of
// 16 reading receivers, back to back (the load tool replays the stream in
// real time instead, so its receivers sleep between packets and each send
// also pays a wake-up). "cpu-ns/pkt" is the sending thread's CPU time per
// packet; ns/op is wall time per round, set-up included.
func BenchmarkFloorPionWriteRTP(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b.ReportAllocs()
	per, _, err := pionFloor(ctx, 0, b.N, packetSizes(client.SynthConfig{}))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(per.Nanoseconds()), "cpu-ns/pkt")
}

func BenchmarkFloorSRTPGCMSendto(b *testing.B) {
	b.ReportAllocs()
	per, _, err := srtpFloor(context.Background(), 0, b.N, packetSizes(client.SynthConfig{}))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(per.Nanoseconds()), "cpu-ns/pkt")
}

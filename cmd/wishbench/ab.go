package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// ABReport is what the gateway's bandwidth adaptation costs, measured in one
// run on the same viewers: the window is cut into phases in which every
// viewer is alternately on a fixed layer (the top one, chosen through the
// WHEP layer extension: the gateway does not adapt) and on auto (its
// estimator runs on every receiver report). The order goes fixed, auto,
// auto, fixed, ... so that a drift of the machine's load weighs on both
// sides alike.
type ABReport struct {
	Phases []ABPhase `json:"phases"`
	// FixedMillicores and AutoMillicores are the medians per viewer.
	FixedMillicores float64 `json:"fixed_millicores_per_viewer"`
	AutoMillicores  float64 `json:"auto_millicores_per_viewer"`
	// Ratio is the server's CPU over all auto phases divided by that over
	// all fixed ones (1.05: adaptation costs 5 % of a viewer).
	Ratio float64 `json:"auto_to_fixed_ratio"`
}

// ABPhase is one phase of the A/B window.
type ABPhase struct {
	Auto                bool    `json:"auto"`
	Seconds             float64 `json:"seconds"`
	MillicoresPerViewer float64 `json:"millicores_per_viewer"`
	DeliveredMin        float64 `json:"delivered_min"`
}

// abAuto says whether phase i of an A/B window is an auto one.
func abAuto(i int) bool { return i%4 == 1 || i%4 == 2 }

// runAB runs 2*pairs phases of phase each, switching every joined viewer
// between top (a rid) and auto before each; settle lets the switches take
// effect before the phase's CPU is sampled.
func runAB(ctx context.Context, cfg Config, viewers []*viewer, joined int, sent *sentLog, top string, phase, settle time.Duration) (*ABReport, error) {
	if cfg.ServerPID <= 0 {
		return nil, errors.New("-ab needs -server-pid")
	}
	r := &ABReport{}
	var cpu [2]time.Duration
	var wall [2]time.Duration
	var per [2][]float64
	for i := range 2 * cfg.AB {
		auto := abAuto(i)
		rid := top
		if auto {
			rid = ""
		}
		if err := setLayers(ctx, viewers, rid); err != nil {
			return nil, err
		}
		if err := sleep(ctx, settle); err != nil {
			return nil, err
		}
		a, err := sampleProc(cfg.ServerPID)
		if err != nil {
			return nil, fmt.Errorf("server pid: %w", err)
		}
		start := time.Now()
		if err := sleep(ctx, phase); err != nil {
			return nil, err
		}
		end := time.Now()
		b, err := sampleProc(cfg.ServerPID)
		if err != nil {
			return nil, fmt.Errorf("server pid: %w", err)
		}
		k := 0
		if auto {
			k = 1
		}
		cpu[k] += b.cpu - a.cpu
		wall[k] += b.at.Sub(a.at)
		mc := 1000 * cores(a, b) / float64(max(1, joined))
		per[k] = append(per[k], mc)
		_, dmin := delivered(sent, viewers, start, end)
		r.Phases = append(r.Phases, ABPhase{Auto: auto, Seconds: end.Sub(start).Seconds(), MillicoresPerViewer: mc, DeliveredMin: dmin})
	}
	r.FixedMillicores, r.AutoMillicores = median(per[0]), median(per[1])
	if cpu[0] > 0 && wall[1] > 0 {
		r.Ratio = (float64(cpu[1]) / float64(wall[1])) / (float64(cpu[0]) / float64(wall[0]))
	}
	return r, nil
}

// setLayers asks every viewer for rid ("" is auto), 32 at a time.
func setLayers(ctx context.Context, viewers []*viewer, rid string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	return eachViewer(viewers, func(v *viewer) error { return v.setLayer(ctx, rid) })
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

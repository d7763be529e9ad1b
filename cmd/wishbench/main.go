// Command wishbench measures a WHIP/WHEP server on this machine: one WHIP
// publisher sending synthetic H.264 and Opus-sized audio, N WHEP viewers
// joining with a stagger, and a report of server CPU and memory per viewer,
// join times, one-way latency, delivered frames and the physical floor of
// the per-packet cost, measured in the same run. See docs/performance.md.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"time"
)

func main() {
	var (
		cfg      Config
		jsonPath string
	)
	flag.StringVar(&cfg.WHIP, "whip", "http://127.0.0.1:8080/whip/bench", "WHIP endpoint of the stream to publish")
	flag.StringVar(&cfg.WHEP, "whep", "", "WHEP endpoint to play (default: the WHIP URL with /whip/ replaced by /whep/)")
	flag.StringVar(&cfg.Token, "token", os.Getenv("WISHBENCH_TOKEN"), "bearer token for both endpoints (env WISHBENCH_TOKEN)")
	flag.IntVar(&cfg.Viewers, "viewers", 10, "number of WHEP viewers")
	flag.DurationVar(&cfg.Stagger, "stagger", 20*time.Millisecond, "time between viewer joins")
	flag.DurationVar(&cfg.Warmup, "warmup", 3*time.Second, "wait after the last join before measuring")
	flag.DurationVar(&cfg.Measure, "duration", 20*time.Second, "measurement window")
	flag.IntVar(&cfg.Synth.Bitrate, "bitrate", 2_500_000, "video bitrate, bit/s")
	flag.IntVar(&cfg.Synth.FPS, "fps", 30, "video frame rate")
	flag.DurationVar(&cfg.Synth.GOP, "gop", 2*time.Second, "keyframe interval")
	flag.IntVar(&cfg.ServerPID, "server-pid", 0, "server process to read CPU and RSS from (/proc/PID); 0: none")
	flag.DurationVar(&cfg.FloorTime, "floor", 2*time.Second, "time per floor measurement (the stream replayed to 16 receivers); 0 skips the floors")
	flag.BoolVar(&cfg.ViewerNACK, "viewer-nack", true, "viewers send NACKs for lost packets, as browsers do")
	flag.StringVar(&cfg.Link, "link", "", "also allow a server on the subnet of this veth interface (another network namespace of this machine)")
	flag.BoolVar(&cfg.Simulcast, "simulcast", false, "publish the video as three simulcast layers (q, h, f), f being the configured stream")
	flag.StringVar(&cfg.Layer, "layer", "", "the viewers' ?layer= (low, medium, high or a rid; empty: auto, the gateway adapts)")
	flag.IntVar(&cfg.AB, "ab", 0, "with -simulcast: cut the window into 2×N phases alternating the viewers between the top layer (no adaptation) and auto, for what adaptation costs in one run")
	flag.StringVar(&jsonPath, "json", "", "also write the report as JSON to this file (- for stdout)")
	verbose := flag.Bool("v", false, "log progress to stderr")
	flag.Parse()
	if cfg.WHEP == "" {
		cfg.WHEP = whepFromWHIP(cfg.WHIP)
		if cfg.WHEP == "" {
			fatal(fmt.Errorf("cannot derive -whep from %q; set it", cfg.WHIP))
		}
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	// Bounded in time whatever happens: joins, warm-up, window, floors,
	// plus a minute of slack for set-up and teardown (and, with -ab, the
	// layer changes and their settling).
	bound := time.Duration(cfg.Viewers)*cfg.Stagger + cfg.Warmup + cfg.Measure + time.Minute +
		time.Duration(2*cfg.AB)*(time.Second+15*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()

	r, err := run(ctx, cfg)
	if err != nil {
		fatal(err)
	}
	r.WriteTable(os.Stdout)
	if jsonPath != "" {
		b, _ := json.MarshalIndent(r, "", "  ")
		b = append(b, '\n')
		if jsonPath == "-" {
			_, err = os.Stdout.Write(b)
		} else {
			err = os.WriteFile(jsonPath, b, 0o644)
		}
		if err != nil {
			fatal(err)
		}
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "wishbench:", err)
	os.Exit(1)
}

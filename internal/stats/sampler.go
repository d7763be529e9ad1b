// Package stats samples the registry's atomic counters once a second, off
// the packet path, to derive what a single read of a counter cannot give:
// bitrates over a window. The packet path is never touched: the samples are
// read from the same atomics the registry's snapshots already expose.
package stats

import (
	"strconv"
	"sync"
	"time"

	"github.com/wishgate/wishgate/streams"
)

// Config tunes a Sampler.
type Config struct {
	Registry *streams.Registry
	// Interval between samples. Default 1s.
	Interval time.Duration
	// Window is the span a bitrate is averaged over. Default 5s.
	Window time.Duration
	// Now is the clock (tests). Default time.Now.
	Now func() time.Time
}

// sample is one reading of a track's byte counter.
type sample struct {
	at    time.Time
	bytes uint64
}

// Sampler owns one goroutine that reads every track's byte counter at a
// fixed interval. Start it with New, stop it with Close.
type Sampler struct {
	cfg Config

	mu     sync.Mutex
	tracks map[string][]sample // "stream/index" -> samples, oldest first

	quit      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// New starts a sampler.
func New(cfg Config) *Sampler {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Window <= 0 {
		cfg.Window = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Sampler{cfg: cfg, tracks: map[string][]sample{}, quit: make(chan struct{}), done: make(chan struct{})}
	go s.run()
	return s
}

func (s *Sampler) run() {
	defer close(s.done)
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	s.Sample()
	for {
		select {
		case <-t.C:
			s.Sample()
		case <-s.quit:
			return
		}
	}
}

// Close stops the sampler and waits for its goroutine. Idempotent.
func (s *Sampler) Close() {
	s.closeOnce.Do(func() { close(s.quit) })
	<-s.done
}

func key(stream string, track int) string { return stream + "/" + strconv.Itoa(track) }

// Sample reads every track once. The goroutine calls it every interval;
// tests may call it directly.
func (s *Sampler) Sample() {
	now := s.cfg.Now()
	infos := s.cfg.Registry.List()
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := make(map[string]bool, len(s.tracks))
	for _, info := range infos {
		for _, t := range info.Tracks {
			k := key(info.Name, t.Index)
			seen[k] = true
			list := s.tracks[k]
			// A counter that went backwards belongs to a new track (the
			// stream was removed and recreated, or its layout changed).
			if n := len(list); n > 0 && t.Bytes < list[n-1].bytes {
				list = list[:0]
			}
			list = append(list, sample{at: now, bytes: t.Bytes})
			// Keep one sample at or before the window's start so a rate
			// always spans the whole window once it is full.
			for len(list) > 2 && now.Sub(list[1].at) >= s.cfg.Window {
				list = list[1:]
			}
			s.tracks[k] = list
		}
	}
	for k := range s.tracks {
		if !seen[k] {
			delete(s.tracks, k)
		}
	}
}

// Bitrate returns the bit rate of track index of stream, in bits per second,
// between the oldest sample inside the window and bytesNow read now. It is 0
// until a first sample exists.
func (s *Sampler) Bitrate(stream string, index int, bytesNow uint64) float64 {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.tracks[key(stream, index)]
	if len(list) == 0 {
		return 0
	}
	first := list[0]
	dt := now.Sub(first.at).Seconds()
	// Right after the first sample the span is too short to mean anything.
	if dt < s.cfg.Interval.Seconds()/2 || bytesNow < first.bytes {
		return 0
	}
	return float64(bytesNow-first.bytes) * 8 / dt
}

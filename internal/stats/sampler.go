// Package stats reads the registry's and the sessions' atomic counters off
// the packet path, to derive what a single read of a counter cannot give:
// bitrates over a window, and totals that survive the streams and sessions
// they were counted on (for Prometheus counters, which must never go down).
package stats

import (
	"strconv"
	"sync"
	"time"

	"github.com/wishgate/wishgate/internal/signaling"
	"github.com/wishgate/wishgate/streams"
)

// Sessions lists the WHIP/WHEP sessions (*signaling.Server). Ended sessions
// stay listed for a while, so their final counts are seen.
type Sessions interface {
	Sessions() []signaling.SessionInfo
}

// Config tunes a Sampler.
type Config struct {
	Registry *streams.Registry
	Sessions Sessions // optional
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

// maxSamples bounds a track's bitrate history whatever the interval.
const maxSamples = 64

// Sampler owns one goroutine that reads every counter at a fixed interval.
// Start it with New, stop it with Close.
type Sampler struct {
	cfg Config

	sampleMu sync.Mutex // one Sample at a time: readings are applied in order

	mu     sync.Mutex
	rates  map[string][]sample // "stream/index" -> samples, oldest first
	totals totals

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
	s := &Sampler{cfg: cfg, rates: map[string][]sample{}, totals: newTotals(),
		quit: make(chan struct{}), done: make(chan struct{})}
	go s.run()
	return s
}

func (s *Sampler) run() {
	defer close(s.done)
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	s.sample(true)
	for {
		select {
		case <-t.C:
			s.sample(true)
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

// Refresh reads every counter now (a metrics scrape calls it so counters are
// current), without adding a bitrate sample.
func (s *Sampler) Refresh() { s.sample(false) }

func (s *Sampler) sample(rates bool) {
	s.sampleMu.Lock()
	defer s.sampleMu.Unlock()
	now := s.cfg.Now()
	infos := s.cfg.Registry.List()
	var sess []signaling.SessionInfo
	if s.cfg.Sessions != nil {
		sess = s.cfg.Sessions.Sessions()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.totals.update(infos, sess)
	if rates {
		s.sampleRates(infos, now)
	}
}

func (s *Sampler) sampleRates(infos []streams.StreamInfo, now time.Time) {
	seen := make(map[string]bool, len(s.rates))
	for _, info := range infos {
		for _, t := range info.Tracks {
			k := key(info.Name, t.Index)
			seen[k] = true
			list := s.rates[k]
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
			if len(list) > maxSamples {
				list = list[len(list)-maxSamples:]
			}
			s.rates[k] = list
		}
	}
	for k := range s.rates {
		if !seen[k] {
			delete(s.rates, k)
		}
	}
}

// Bitrate returns the bit rate of track index of stream, in bits per second,
// between the oldest sample inside the window and bytesNow read now. It is 0
// until a sample at least half an interval old exists.
func (s *Sampler) Bitrate(stream string, index int, bytesNow uint64) float64 {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.rates[key(stream, index)]
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

// Totals returns the running totals as of the last sample.
func (s *Sampler) Totals() Totals {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.totals.snapshot()
}

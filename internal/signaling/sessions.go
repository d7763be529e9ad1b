package signaling

import (
	"sort"
	"time"

	"github.com/wishgate/wishgate/streams"
)

// MediaStats is what a session knows of its own traffic. Resources that can
// tell implement StatsReporter; the control API and the metrics read it.
type MediaStats struct {
	BytesSent   uint64
	PacketsSent uint64
	// From the peer's RTCP receiver reports (RFC 3550 §6.4.2); valid when
	// HaveRR is set, RTT only when HaveRTT is (the peer echoed one of our
	// sender reports).
	HaveRR       bool
	HaveRTT      bool
	RTT          time.Duration
	Jitter       time.Duration
	FractionLost float64 // 0..1, of the last report interval
	// Lost is, for a publisher, the packets lost on ingest per stream
	// track index (nil for readers).
	Lost []uint64
}

// StatsReporter is implemented by resources that count their traffic.
type StatsReporter interface {
	MediaStats() MediaStats
}

// SessionInfo describes one session of the edge by its public id; the
// resource secret never leaves this package. The catalogue of every
// session, whatever its protocol, is the registry's (streams.Registry
// Sessions and Kick); the edge adds what only it knows: the traffic
// counters, and the sessions that ended while their URL still answers.
type SessionInfo struct {
	ID         string
	Kind       streams.SessionKind
	Stream     string
	RemoteAddr string
	Since      time.Time
	Ended      bool        // ended, its URL still answering DELETE for a while
	Stats      *MediaStats // nil if the resource does not count
}

// Sessions lists the sessions, live ones and recently ended ones (Ended
// set), ordered by start time.
func (s *Server) Sessions() []SessionInfo {
	s.mu.Lock()
	entries := make([]entry, 0, len(s.sessions))
	for _, e := range s.sessions {
		entries = append(entries, *e)
	}
	s.mu.Unlock()
	out := make([]SessionInfo, 0, len(entries))
	for _, e := range entries {
		info := SessionInfo{ID: e.id, Kind: e.kind, Stream: e.stream, RemoteAddr: e.remote, Since: e.since, Ended: e.ended}
		if r, ok := e.res.(StatsReporter); ok {
			st := r.MediaStats()
			info.Stats = &st
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Since.Equal(out[j].Since) {
			return out[i].Since.Before(out[j].Since)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

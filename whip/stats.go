package whip

import (
	"sync/atomic"

	"github.com/wishgate/wishgate/internal/signaling"
)

// seqLoss counts packets lost on ingest for one track from the RTP sequence
// numbers, as RFC 3550 §6.4.1 / A.3 define it: expected (highest extended
// sequence number - first + 1) minus received, late packets counting as
// received and duplicates as nothing lost. observe runs on the track's
// reader goroutine only; lost is what other goroutines read.
type seqLoss struct {
	started  bool
	base     uint32
	maxSeq   uint16
	cycles   uint32
	received uint32
	last     uint64
	lost     atomic.Uint64
}

func (l *seqLoss) observe(seq uint16) {
	if !l.started {
		l.started, l.base, l.maxSeq, l.received = true, uint32(seq), seq, 1
		return
	}
	l.received++
	// Ahead of the highest by less than half the space: newer (a gap is
	// loss until the packet turns up late). Otherwise late or duplicate.
	if d := seq - l.maxSeq; d != 0 && d < 0x8000 {
		if seq < l.maxSeq {
			l.cycles += 1 << 16
		}
		l.maxSeq = seq
	}
	var lost uint64
	if expected := l.cycles + uint32(l.maxSeq) - l.base + 1; expected > l.received {
		lost = uint64(expected - l.received)
	}
	if lost != l.last { // one atomic store per change, not per packet
		l.last = lost
		l.lost.Store(lost)
	}
}

// MediaStats implements signaling.StatsReporter: packets lost on the way
// from the publisher, per stream track.
func (s *session) MediaStats() signaling.MediaStats {
	st := signaling.MediaStats{Lost: make([]uint64, len(s.loss))}
	for i := range s.loss {
		for j := range s.loss[i] {
			st.Lost[i] += s.loss[i][j].lost.Load()
		}
	}
	return st
}

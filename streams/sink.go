package streams

import (
	"errors"

	"github.com/pion/rtp"
)

// Sink receives a subscriber's packets. hdr is scratch space owned by the
// subscription: the sink may rewrite SSRC and payload type in place but must
// not keep hdr or payload after returning. Calls for one track never overlap;
// a NonBlockingSink's tracks are written by different fan-out workers, so
// calls for different tracks may, and Retransmit writes concurrently too.
type Sink interface {
	WriteRTP(track int, hdr *rtp.Header, payload []byte) error
}

// NonBlockingSink is a Sink whose writes never wait for the reader. Once
// its start burst is out, such a subscriber is written by its tracks'
// fan-out workers (direct delivery, direct.go) instead of its own
// goroutine. A sink that can block must not implement it or must return
// false, or one slow reader would stall every reader sharing its worker.
type NonBlockingSink interface {
	Sink
	NonBlocking() bool
}

// ErrDropped is returned by a sink that dropped a packet rather than wait
// (its own bounded queue was full: a WebRTC viewer on ICE-TCP whose window is
// closed). The subscription counts it as Dropped and resumes at the next
// keyframe, exactly as when its own queue overflows; the session goes on.
var ErrDropped = errors.New("streams: the sink dropped the packet")

// A Batch collects the writes of one fan-out pass. The worker flushes it
// after writing the pass's packets to all of its viewers, so a sink can send
// them together (whep: one sendmmsg on the media socket for all of them).
// A Batch is used by one goroutine at a time. The worker asks Room before
// each viewer's share of a pass and flushes first when it does not fit, so
// a sink's write into the batch only queues: it never sends while the
// worker holds the viewer's lock.
type Batch interface {
	// Room reports whether n more packets fit before the batch must be
	// sent.
	Room(n int) bool
	Flush()
}

// BatchSink is a NonBlockingSink whose direct writes a fan-out worker
// collects in a Batch. Sinks whose BatchKey values are equal share one.
type BatchSink interface {
	NonBlockingSink
	BatchKey() any
	NewBatch() Batch
	// WriteRTPBatch is WriteRTP into b (which NewBatch of an equal key
	// made); what it queues is sent by b.Flush.
	WriteRTPBatch(b Batch, track int, hdr *rtp.Header, payload []byte) error
}

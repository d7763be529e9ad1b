package bridge

import (
	"sync"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/description"

	"github.com/wishgate/wishgate/streams"
)

// gortsplib reports what it could not decode or deliver through callbacks
// that, left unset, write one line to the standard logger per packet: a
// peer sending garbage, or reading too slowly, would flood the log. Here
// each becomes a counter where the API and the metrics read it, and at
// most one log line per session.

// decodeErrors turns a publisher session's per-media count of RTP packets
// gortsplib could not decode (unparsable, an unannounced payload type, too
// large) into the publication's malformed drops, per track. The callback
// names no media, so the counts are read back from the session's
// statistics and the growth since the last error is counted.
type decodeErrors struct {
	mu     sync.Mutex
	seen   map[*description.Media]uint64
	logged bool
}

// count credits the growth of each media's RTPPacketsInError to the first
// track of that media. It reports whether this is the session's first
// decode error (to log it once).
func (d *decodeErrors) count(in *ingest, medias map[*description.Media]gortsplib.StatsSessionMedia) (first bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.seen == nil {
		d.seen = map[*description.Media]uint64{}
	}
	for m, st := range medias {
		n := st.RTPPacketsInError - d.seen[m]
		d.seen[m] = st.RTPPacketsInError
		if n == 0 || in == nil || in.pub == nil {
			continue
		}
		if t := in.trackOf(m); t != nil {
			for range n {
				in.pub.Drop(t.index, streams.DropMalformed)
			}
		}
	}
	first = !d.logged
	d.logged = true
	return first
}

// trackOf is the first track carried by media m, nil if the gateway took
// none of its formats.
func (in *ingest) trackOf(m *description.Media) *ingestTrack {
	for _, t := range in.tracks {
		if t.media == m {
			return t
		}
	}
	return nil
}

// OnDecodeError implements gortsplib.ServerHandlerOnDecodeError: RTP a
// publisher sent that could not be decoded is a malformed drop on its
// track; RTCP a reader or publisher sent that could not be decoded carries
// no media and is only logged, once per session.
func (s *Server) OnDecodeError(ctx *gortsplib.ServerHandlerOnDecodeErrorCtx) {
	d, _ := ctx.Session.UserData().(*sessionData)
	if d == nil {
		return
	}
	if d.decode.count(d.in, ctx.Session.Stats().Medias) {
		s.log.Info("rtsp peer sent packets that cannot be decoded (counted, logged once per session)",
			"stream", d.streamName(), "error", ctx.Error)
	}
}

// OnPacketsLost implements gortsplib.ServerHandlerOnPacketsLost: loss on a
// publisher's RTP is gortsplib's to count (its session statistics); it is
// not logged per gap.
func (s *Server) OnPacketsLost(*gortsplib.ServerHandlerOnPacketsLostCtx) {}

// OnStreamWriteError implements gortsplib.ServerHandlerOnStreamWriteError:
// a reader whose write queue is full loses the packet, counted as its
// subscription's drop (the API's packets_dropped, the queue_full drops of
// the metrics).
func (s *Server) OnStreamWriteError(ctx *gortsplib.ServerHandlerOnStreamWriteErrorCtx) {
	d, _ := ctx.Session.UserData().(*sessionData)
	if d == nil || d.outlet == nil {
		return
	}
	d.outlet.sub.Dropped.Add(1)
}

// streamName is the stream the session reads or publishes.
func (d *sessionData) streamName() string {
	switch {
	case d.outlet != nil:
		return d.outlet.name
	case d.pub != nil:
		return d.pub.Stream().Name
	}
	return ""
}

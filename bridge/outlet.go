package bridge

import (
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/pion/rtp"

	"github.com/wishgate/wishgate/streams"
)

// outlet serves one registry stream to one RTSP reader session: a registry
// subscription (which starts at a keyframe) feeds a gortsplib.ServerStream
// that only this session reads. It is created by DESCRIBE (or a SETUP
// without one), lives while its session does, and is dropped after a linger
// if no SETUP claims it; a publisher with other codecs ends it and its reader.
type outlet struct {
	srv    *Server
	name   string
	sub    *streams.Subscription
	tracks []*streams.Track

	ready chan struct{} // closed once stream is set

	mu           sync.Mutex
	stream       *gortsplib.ServerStream
	medias       []*description.Media
	payloadTypes []uint8
	params       []*paramSets
	readers      map[*gortsplib.ServerSession]struct{}
	linger       *time.Timer
	closed       bool
}

func newOutlet(srv *Server, name string, sub *streams.Subscription, tracks []*streams.Track) *outlet {
	o := &outlet{
		srv: srv, name: name, sub: sub, tracks: tracks,
		ready:        make(chan struct{}),
		readers:      map[*gortsplib.ServerSession]struct{}{},
		params:       make([]*paramSets, len(tracks)),
		payloadTypes: make([]uint8, len(tracks)),
	}
	for i, t := range tracks {
		o.params[i] = newParamSets(t.Codec)
		o.payloadTypes[i] = payloadType(i, t.Codec)
	}
	o.mu.Lock()
	o.armLingerLocked()
	if o.paramsCompleteLocked() {
		o.buildLocked()
	}
	o.mu.Unlock()
	return o
}

func (o *outlet) paramsCompleteLocked() bool {
	for _, p := range o.params {
		if !p.complete() {
			return false
		}
	}
	return true
}

// buildLocked creates the ServerStream from what is known. Tracks that
// cannot be described are left out of it.
func (o *outlet) buildLocked() {
	if o.stream != nil || o.closed {
		return
	}
	desc := &description.Session{Title: o.name}
	o.medias = make([]*description.Media, len(o.tracks))
	for i, t := range o.tracks {
		m, err := mediaFor(i, t, o.params[i].fmtp(t.Codec))
		if err != nil {
			o.srv.log.Warn("track not served over RTSP", "stream", o.name, "error", err)
			continue
		}
		o.medias[i] = m
		desc.Medias = append(desc.Medias, m)
	}
	st := &gortsplib.ServerStream{Server: o.srv.rtsp, Desc: desc}
	if err := st.Initialize(); err != nil {
		o.srv.log.Warn("cannot serve stream over RTSP", "stream", o.name, "error", err)
		return
	}
	o.stream = st
	close(o.ready)
}

// waitReady waits until the stream's description is known (parameter sets
// of a WHIP publisher arrive with its first keyframe), then builds it with
// whatever is known. It returns nil if the outlet closed meanwhile.
func (o *outlet) waitReady(timeout time.Duration) *gortsplib.ServerStream {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-o.ready:
	case <-t.C:
	case <-o.sub.Done():
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buildLocked()
	if o.closed {
		return nil
	}
	return o.stream
}

// WriteRTP is the subscription's sink (one goroutine).
func (o *outlet) WriteRTP(track int, hdr *rtp.Header, payload []byte) error {
	o.mu.Lock()
	if o.stream == nil {
		o.params[track].sniff(payload)
		if o.paramsCompleteLocked() {
			o.buildLocked()
		}
	}
	st := o.stream
	var m *description.Media
	if st != nil {
		m = o.medias[track]
	}
	o.mu.Unlock()
	if m == nil {
		return nil
	}
	hdr.PayloadType = o.payloadTypes[track]
	// WritePacketRTP marshals synchronously; the header and payload are
	// not kept. A closed stream only means the outlet is going away.
	_ = st.WritePacketRTP(m, &rtp.Packet{Header: *hdr, Payload: payload})
	return nil
}

// addReader registers an RTSP session that set up this outlet's stream.
func (o *outlet) addReader(ss *gortsplib.ServerSession) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.readers[ss] = struct{}{}
	if o.linger != nil {
		o.linger.Stop()
		o.linger = nil
	}
}

func (o *outlet) removeReader(ss *gortsplib.ServerSession) {
	o.mu.Lock()
	_, ok := o.readers[ss]
	delete(o.readers, ss)
	empty := ok && len(o.readers) == 0
	o.mu.Unlock()
	if empty {
		// The session is gone, and with it the reason for this subscription.
		o.sub.Close()
	}
}

// armLingerLocked closes the outlet if no reader sets it up within the
// linger time: a DESCRIBE alone (ffprobe -show_streams, a player probing)
// must not hold a subscription, and an on-demand camera, forever.
func (o *outlet) armLingerLocked() {
	if o.linger != nil || o.closed {
		return
	}
	o.linger = time.AfterFunc(o.srv.cfg.Linger, func() {
		o.mu.Lock()
		idle := len(o.readers) == 0 && !o.closed
		o.mu.Unlock()
		if idle {
			o.sub.Close()
		}
	})
}

// requestKeyframes asks the publisher for a keyframe for a reader that
// starts playing mid-stream.
func (o *outlet) requestKeyframes() {
	for i, t := range o.tracks {
		if t.Kind == streams.KindVideo {
			o.sub.RequestKeyframe(i)
		}
	}
}

// close releases the stream and disconnects its readers; called once the
// subscription's Run has returned.
func (o *outlet) close() {
	o.mu.Lock()
	o.closed = true
	if o.linger != nil {
		o.linger.Stop()
		o.linger = nil
	}
	st := o.stream
	o.mu.Unlock()
	o.sub.Close()
	if st != nil {
		st.Close()
	}
}

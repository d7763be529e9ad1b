package client

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Viewer is a WHEP session receiving at most one video and one audio track.
type Viewer struct {
	*session

	onPacket  func(webrtc.RTPCodecType, webrtc.RTPCodecParameters, *rtp.Packet)
	onRTP     func(webrtc.RTPCodecType, []byte)
	onSR      func(webrtc.RTPCodecType, *rtcp.SenderReport)
	received  kindCounters
	malformed atomic.Uint64

	// done is closed by Close; it releases paused readers and waiters.
	done chan struct{}

	mu     sync.Mutex
	closed bool                                        // no new reader goroutines once set
	tracks map[webrtc.RTPCodecType]*webrtc.TrackRemote // tracks seen so far
	resume chan struct{}                               // non-nil while paused; closed by Resume
	waits  []packetWait
	// nwaits mirrors len(waits) so the media path can skip the lock when
	// nobody waits (the common case).
	nwaits atomic.Int32

	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

type packetWait struct {
	kind webrtc.RTPCodecType
	n    uint64
	ch   chan struct{}
}

// Play creates a WHEP session at endpoint (e.g.
// http://127.0.0.1:PORT/whep/NAME) with a recvonly offer. ctx bounds only
// the negotiation. Tracks are read by goroutines owned by the Viewer; each
// packet is counted and passed to opts.OnPacket.
func Play(ctx context.Context, endpoint string, opts PlayOptions) (*Viewer, error) {
	var video, audio []webrtc.RTPCodecParameters
	var videoExplicit, audioExplicit bool
	var err error
	if !opts.NoVideo {
		if video, videoExplicit, err = opts.codecsFor(webrtc.RTPCodecTypeVideo, VideoCodecIDs()); err != nil {
			return nil, err
		}
	}
	if !opts.NoAudio {
		if audio, audioExplicit, err = opts.codecsFor(webrtc.RTPCodecTypeAudio, AudioCodecIDs()); err != nil {
			return nil, err
		}
	}
	if video == nil && audio == nil {
		return nil, fmt.Errorf("client: viewer with neither video nor audio")
	}

	s, err := openSession(endpoint, &opts.Options, append(append([]webrtc.RTPCodecParameters(nil), video...), audio...))
	if err != nil {
		return nil, err
	}
	v := &Viewer{
		session:  s,
		onPacket: opts.OnPacket,
		onRTP:    opts.OnRTP,
		onSR:     opts.OnSenderReport,
		done:     make(chan struct{}),
		tracks:   map[webrtc.RTPCodecType]*webrtc.TrackRemote{},
	}
	if opts.StartPaused {
		v.resume = make(chan struct{})
	}
	addRecv := func(kind webrtc.RTPCodecType, codecs []webrtc.RTPCodecParameters, explicit bool) error {
		tr, err := s.pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		if err != nil {
			return fmt.Errorf("client: add %s transceiver: %w", kind, err)
		}
		if explicit && opts.API != nil {
			if err := tr.SetCodecPreferences(codecs); err != nil {
				return fmt.Errorf("client: %s codec preferences: %w", kind, err)
			}
		}
		return nil
	}
	if video != nil {
		if err := addRecv(webrtc.RTPCodecTypeVideo, video, videoExplicit); err != nil {
			s.abort()
			return nil, err
		}
	}
	if audio != nil {
		if err := addRecv(webrtc.RTPCodecTypeAudio, audio, audioExplicit); err != nil {
			s.abort()
			return nil, err
		}
	}
	s.pc.OnTrack(v.handleTrack)
	if err := s.negotiate(ctx); err != nil {
		v.mu.Lock()
		v.closed = true // an OnTrack racing the failure must not start readers
		v.mu.Unlock()
		s.abort()
		return nil, err
	}
	return v, nil
}

// handleTrack runs on pion's goroutine; it hands the track to goroutines
// the Viewer owns (and Close waits for) unless the Viewer is closing.
func (v *Viewer) handleTrack(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return
	}
	v.tracks[track.Kind()] = track
	v.wg.Add(2)
	go v.readTrack(track)
	go v.drainRTCP(track.Kind(), recv)
}

// readTrack reads RTP until the track ends. While paused it does not read
// at all, so pion's receive buffers fill up as with a stuck real viewer.
func (v *Viewer) readTrack(track *webrtc.TrackRemote) {
	defer v.wg.Done()
	kind, codec := track.Kind(), track.Codec()
	buf := make([]byte, 1500)
	for {
		if !v.waitResumed() {
			return
		}
		n, _, err := track.Read(buf)
		if err != nil {
			return
		}
		if v.onRTP != nil {
			v.received.add(kind, n)
			v.notifyWaiters(kind)
			v.onRTP(kind, buf[:n])
			continue
		}
		pkt := &rtp.Packet{}
		// Unmarshal into a copy: the packet's payload aliases its input and
		// the callback owns the packet.
		if err := pkt.Unmarshal(append([]byte(nil), buf[:n]...)); err != nil {
			v.malformed.Add(1)
			continue
		}
		v.received.add(kind, len(pkt.Payload))
		v.notifyWaiters(kind)
		if v.onPacket != nil {
			v.onPacket(kind, codec, pkt)
		}
	}
}

// drainRTCP reads the receiver's RTCP (sender reports) so pion's receiver
// report interceptor sees them, and hands the sender reports to
// OnSenderReport.
func (v *Viewer) drainRTCP(kind webrtc.RTPCodecType, recv *webrtc.RTPReceiver) {
	defer v.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, _, err := recv.Read(buf)
		if err != nil {
			return
		}
		if v.onSR == nil {
			continue
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, p := range pkts {
			if sr, ok := p.(*rtcp.SenderReport); ok {
				v.onSR(kind, sr)
			}
		}
	}
}

// waitResumed blocks while paused; false means the Viewer is closing.
func (v *Viewer) waitResumed() bool {
	v.mu.Lock()
	resume := v.resume
	v.mu.Unlock()
	if resume == nil {
		return true
	}
	select {
	case <-resume:
		return true
	case <-v.done:
		return false
	}
}

// Pause stops reading every track (after the packet in flight), simulating
// a viewer that stops consuming. Idempotent.
func (v *Viewer) Pause() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.resume == nil {
		v.resume = make(chan struct{})
	}
}

// Resume undoes Pause. Idempotent.
func (v *Viewer) Resume() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.resume != nil {
		close(v.resume)
		v.resume = nil
	}
}

// Received returns what has been read for kind.
func (v *Viewer) Received(kind webrtc.RTPCodecType) Counters { return v.received.get(kind) }

// Malformed returns how many packets failed to parse as RTP.
func (v *Viewer) Malformed() uint64 { return v.malformed.Load() }

// Track returns the remote track of kind once it has started (nil before).
func (v *Viewer) Track(kind webrtc.RTPCodecType) *webrtc.TrackRemote {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.tracks[kind]
}

// SendPLI asks the gateway for a video keyframe.
func (v *Viewer) SendPLI() error {
	track := v.Track(webrtc.RTPCodecTypeVideo)
	if track == nil {
		return ErrNoTrack
	}
	return v.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(track.SSRC())}})
}

// WaitPackets blocks until at least n packets of kind have been read, or
// ctx ends, or the Viewer closes.
func (v *Viewer) WaitPackets(ctx context.Context, kind webrtc.RTPCodecType, n uint64) error {
	w := packetWait{kind: kind, n: n, ch: make(chan struct{})}
	// Register before checking the count: a reader that counted before our
	// registration is then seen by the check, one that counted after sees
	// nwaits > 0 and wakes us. Either way no wakeup is lost.
	v.mu.Lock()
	v.waits = append(v.waits, w)
	v.nwaits.Add(1)
	v.mu.Unlock()
	defer v.removeWait(w.ch)
	if v.received.get(kind).Packets >= n {
		return nil
	}

	select {
	case <-w.ch:
		return nil
	case <-v.done:
		return fmt.Errorf("client: viewer closed after %d/%d %s packets", v.received.get(kind).Packets, n, kind)
	case <-ctx.Done():
		return fmt.Errorf("client: %d/%d %s packets: %w", v.received.get(kind).Packets, n, kind, ctx.Err())
	}
}

func (v *Viewer) removeWait(ch chan struct{}) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for i, w := range v.waits {
		if w.ch == ch {
			v.waits = append(v.waits[:i], v.waits[i+1:]...)
			v.nwaits.Add(-1)
			return
		}
	}
}

// notifyWaiters wakes the WaitPackets calls whose target is reached.
// Satisfied waits are removed here so each channel is closed once.
func (v *Viewer) notifyWaiters(kind webrtc.RTPCodecType) {
	if v.nwaits.Load() == 0 {
		return
	}
	got := v.received.get(kind).Packets
	v.mu.Lock()
	defer v.mu.Unlock()
	kept := v.waits[:0]
	for _, w := range v.waits {
		if w.kind == kind && got >= w.n {
			close(w.ch)
			v.nwaits.Add(-1)
			continue
		}
		kept = append(kept, w)
	}
	v.waits = kept
}

// Close DELETEs the session (unless Delete already succeeded), closes the
// PeerConnection and waits for every reader goroutine. Idempotent; every
// call returns the first call's result.
func (v *Viewer) Close() error {
	v.closeOnce.Do(func() {
		v.mu.Lock()
		v.closed = true
		v.mu.Unlock()
		close(v.done)
		v.closeErr = v.closeSession()
		v.wg.Wait()
	})
	return v.closeErr
}

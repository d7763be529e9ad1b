package bridge

import "sync/atomic"

// rtspPublisher is the registry's view of an RTSP session feeding a stream
// (a pulled camera or a RECORD client).
type rtspPublisher struct {
	connected atomic.Bool
	// kick ends the session; it must not call back into the registry.
	kick func(reason error)
}

func (p *rtspPublisher) Connected() bool { return p.connected.Load() }

// RequestKeyframe is a no-op: RTSP has no standard keyframe request (RTCP
// PLI/FIR are not part of RTSP's AVP profile and cameras ignore them), so
// viewers joining a camera stream wait for its next IDR.
func (p *rtspPublisher) RequestKeyframe(int) {}

func (p *rtspPublisher) Kick(reason error) { p.kick(reason) }

// IgnoresKeyframeRequests implements streams.KeyframeDeaf: viewers of an
// RTSP stream start from its cached GOP without asking first.
func (p *rtspPublisher) IgnoresKeyframeRequests() bool { return true }

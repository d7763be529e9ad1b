package streams

import (
	"context"
	"time"
)

// How a new viewer starts. A video decoder needs a keyframe first, and the
// two ways to give it one have opposite costs:
//
//   - the cached GOP (gop.go) starts the viewer at once, but every picture
//     since the keyframe goes out in a burst: a long GOP is a long burst,
//     which browsers answer with dropped frames, a freeze and a jitter
//     buffer that takes seconds to recover;
//   - a fresh keyframe costs the viewer a round trip and the publisher one
//     keyframe, but only publishers that answer keyframe requests (browsers,
//     GStreamer) can give one.
//
// So a cached GOP younger than freshGOP is always sent (a short burst); an
// older one is replaced by a fresh keyframe where the publisher is known to
// answer requests, and sent, within StartBurstMaxAge and StartBurstMaxBytes,
// where it is not (OBS, FFmpeg, RTSP cameras, or not judged yet). A viewer
// that gets neither waits for the next keyframe, asking again every
// KeyframeRequestInterval. When an answer does not come within
// keyframeAnswerWindow the viewer falls back to the cache, and the track
// remembers the publisher as deaf (keyframes.go).

// freshGOP: a cached GOP whose keyframe is younger than this is sent even
// where a fresh keyframe could be had: its burst is at most this long.
const freshGOP = time.Second

// DefaultStartBurstMaxAge bounds the cached GOP a viewer is sent in time:
// the recommended 1-2 s keyframe interval with margin. Chromium plays a
// 2 s GOP burst without a dropped frame; longer bursts grow its jitter
// buffer for seconds.
const DefaultStartBurstMaxAge = 2500 * time.Millisecond

// DefaultStartBurstMaxBytes bounds it in media bytes: 2.5 s at about
// 6 Mbit/s, a burst of ≈ 30 Mbit/s over its 500 ms of pacing.
const DefaultStartBurstMaxBytes = 2 << 20

type startPlan int

const (
	startWait  startPlan = iota // no usable GOP: wait for the next keyframe
	startBurst                  // send the cached GOP now
	startAsk                    // ask for a fresh keyframe, fall back to the cache
)

// plan decides how a viewer joining at now starts on this track.
func (t *Track) plan(now time.Time) startPlan {
	g := t.gop.state()
	age := time.Duration(now.UnixNano() - g.keyAt)
	cfg := &t.stream.reg.cfg
	usable := g.valid && age <= cfg.StartBurstMaxAge && g.media <= cfg.StartBurstMaxBytes
	switch {
	case usable && age <= freshGOP:
		return startBurst
	case t.answers(now.UnixNano()):
		return startAsk
	case usable:
		return startBurst
	}
	return startWait
}

// usableGOP reports whether the cached GOP may still be sent at now.
func (t *Track) usableGOP(now time.Time) bool {
	g := t.gop.state()
	cfg := &t.stream.reg.cfg
	return g.valid && time.Duration(now.UnixNano()-g.keyAt) <= cfg.StartBurstMaxAge && g.media <= cfg.StartBurstMaxBytes
}

// start gets every video track of a new subscription to its first keyframe
// (see the top of this file); audio starts live.
func (s *Subscription) start(ctx context.Context, sink Sink) error {
	var ask []int
	for i := range s.tracks {
		st := &s.tracks[i]
		if !st.enabled || st.track.Kind != KindVideo {
			continue
		}
		st.waiting = true
		switch st.src().plan(time.Now()) {
		case startBurst:
			if err := s.startFromCache(ctx, i, sink); err != nil {
				return err
			}
		case startAsk:
			ask = append(ask, i)
		}
		if st.waiting {
			// Coalesced across joiners by the track's throttle.
			st.src().RequestKeyframe()
		}
	}
	if len(ask) == 0 {
		return nil
	}
	return s.awaitKeyframes(ctx, sink, ask)
}

// awaitKeyframes delivers live packets (a video track skips to its first
// keyframe, audio plays) until every track in ask has started or
// keyframeAnswerWindow has passed. A track still waiting then starts from
// the cached GOP if it is still within bounds, or keeps waiting.
func (s *Subscription) awaitKeyframes(ctx context.Context, sink Sink, ask []int) error {
	timer := time.NewTimer(keyframeAnswerWindow)
	defer timer.Stop()
	for {
		waiting := false
		for _, i := range ask {
			waiting = waiting || s.tracks[i].waiting
		}
		if !waiting {
			return nil
		}
		select {
		case q := <-s.audioQ:
			if err := s.take(q, sink); err != nil {
				return err
			}
		case q := <-s.queue:
			if err := s.take(q, sink); err != nil {
				return err
			}
		case <-timer.C:
			now := time.Now()
			for _, i := range ask {
				st := &s.tracks[i]
				st.src().kf.expire(now.UnixNano())
				if !st.waiting || st.started || !st.src().usableGOP(now) {
					continue
				}
				// The packets skipped meanwhile were never sent; the
				// cache holds them again, up to the newest.
				st.lastIdx = 0
				if err := s.startFromCache(ctx, i, sink); err != nil {
					return err
				}
			}
			return nil
		case <-s.done:
			return s.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// startFromCache delivers track i's cached GOP, keyframe first, before any
// live packet. The packets go out far faster than real time (see
// burstDuration), with their RTP timestamps rewritten to advance at the
// pace they are sent, ending at the newest cached picture's real timestamp
// (stampBurst): the viewer's decoder runs through the GOP as it arrives and
// shows the newest picture, and the live packets that follow keep their own
// timestamps, so the viewer is live as soon as the burst is through, with
// no lasting delay and no timestamp jump. Timestamps that match the
// arrival keep the receiver's jitter estimate where it belongs: squeezed
// into consecutive ticks, a burst paced over hundreds of milliseconds
// reads to a browser as pictures arriving hundreds of milliseconds late,
// and it answers with a grown jitter buffer and a freeze. Replaying at the
// original pace would instead leave the viewer as far behind live as the
// GOP was old, forever (a jitter buffer never catches up by itself), and
// starting at the latest keyframe alone would forward P-frames whose
// references the viewer never got.
func (s *Subscription) startFromCache(ctx context.Context, i int, sink Sink) error {
	st := &s.tracks[i]
	s.burst = st.src().gop.snapshot(s.burst[:0])
	defer func() {
		for j, p := range s.burst {
			p.Release()
			s.burst[j] = nil
		}
	}()
	if len(s.burst) == 0 {
		return nil
	}
	last := s.burst[len(s.burst)-1].Header
	// The keyframe itself goes out at once (tens of packets, well within a
	// socket buffer): it is what the viewer waits for. The rest is paced.
	total := 0
	for _, p := range s.burst {
		if p.Header.Timestamp != s.burst[0].Header.Timestamp {
			total += len(p.Payload)
		}
	}
	rate := int64(max(1, st.track.Codec.ClockRate))
	span := time.Duration(last.Timestamp-s.burst[0].Header.Timestamp) * time.Second / time.Duration(rate)
	pace := st.burstPace(burstDuration(span), span, total)
	s.stampBurst(total, int64(pace)*rate/int64(time.Second))
	st.placeBurst(s.burstOff[0], last.Timestamp)
	start := time.Now()
	frame, sent := 0, 0
	st.bursting = true
	for j, p := range s.burst {
		if j > 0 && p.Header.Timestamp != s.burst[j-1].Header.Timestamp {
			frame++
		}
		if err := s.deliver(i, p, sink, last.Timestamp-uint32(s.burstOff[frame])); err != nil {
			return err
		}
		if frame == 0 {
			start = time.Now()
			continue
		}
		sent += len(p.Payload)
		due := start.Add(time.Duration(int64(pace) * int64(sent) / int64(max(1, total))))
		if wait := time.Until(due); wait > burstSlack {
			if err := s.pause(ctx, wait); err != nil {
				return err
			}
		}
	}
	st.bursting = false
	st.mapFrom = st.lastOut + 1
	st.publishMap()
	return nil
}

// stampBurst sets s.burstOff[k], how many ticks picture k of the burst in
// s.burst (total bytes after the keyframe, paced over paceTicks) is stamped
// below the newest: the pace still to come when its last byte is due. The
// keyframe, sent at once, is a whole pace below, the newest 0, and each
// picture at least one tick below the next.
func (s *Subscription) stampBurst(total int, paceTicks int64) {
	off := append(s.burstOff[:0], paceTicks)
	sent := 0
	for j := 1; j < len(s.burst); j++ {
		p := s.burst[j]
		if p.Header.Timestamp != s.burst[j-1].Header.Timestamp {
			off = append(off, 0)
		}
		if len(off) > 1 { // past the keyframe's packets
			sent += len(p.Payload)
			off[len(off)-1] = paceTicks * int64(total-sent) / int64(max(1, total))
		}
	}
	off[len(off)-1] = 0
	for k := len(off) - 2; k >= 0; k-- {
		off[k] = max(off[k], off[k+1]+1)
	}
	s.burstOff = off
}

// A cached GOP is paced, not dumped: hundreds of packets at once overflow a
// receiver's socket buffer (212 KB by default on Linux) or a last-mile queue,
// and burst packets cannot be retransmitted (their timestamps were rewritten
// for this viewer). burstDuration spreads the GOP over an eighth of the time
// it spans, at most half a second, so the viewer is live within that time
// and the live packets queued meanwhile stay far below the queue's bound.
func burstDuration(span time.Duration) time.Duration {
	return min(span/8, 500*time.Millisecond)
}

// burstSlack: shorter waits are not worth a timer; the pace evens out.
const burstSlack = 2 * time.Millisecond

func (s *Subscription) pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-s.done:
		return s.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

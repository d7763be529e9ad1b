package streams

import (
	"sync/atomic"
	"time"
)

// Keyframe requests go upstream through the track, never straight to the
// publisher: one throttle per track coalesces every viewer's request, and the
// track learns from the answers whether its publisher honours them.

// keyframeThrottle bounds keyframe requests sent upstream per track: a burst
// of joining viewers costs the publisher one PLI, not one each.
const keyframeThrottle = 500 * time.Millisecond

// DefaultKeyframeRequestInterval is how often a publisher is asked again
// while a viewer still waits for a keyframe (MediaMTX asks every 2 s too):
// a request or its answer can be lost, and an encoder may ignore a request
// that came too soon after its last keyframe.
const DefaultKeyframeRequestInterval = 2 * time.Second

// keyframeAnswerWindow: a keyframe within this time of a request counts as
// its answer. Browsers and GStreamer answer a PLI with the next frame, one
// round trip and one frame interval later; a keyframe that takes longer is
// the publisher's own schedule.
const keyframeAnswerWindow = 800 * time.Millisecond

// KeyframeDeaf is implemented by publishers that can never be asked for a
// keyframe, such as RTSP sessions (RTSP has no keyframe request). Viewers of
// their streams start from the cached GOP without asking first.
type KeyframeDeaf interface {
	IgnoresKeyframeRequests() bool
}

// KeyframeAnswers says whether a track's publisher answers keyframe requests.
type KeyframeAnswers string

const (
	// AnswersUnknown: not judged yet. Viewers start as for a publisher
	// that does not answer (from the cache, without waiting); a probe
	// settles it within a second or two of the stream's start.
	AnswersUnknown KeyframeAnswers = "unknown"
	// AnswersYes: the last request was answered within keyframeAnswerWindow.
	AnswersYes KeyframeAnswers = "yes"
	// AnswersNo: the publisher cannot be asked (RTSP), or a request went
	// unanswered (OBS and FFmpeg keep their own keyframe schedule).
	AnswersNo KeyframeAnswers = "no"
)

// keyframeLearner follows the requests sent to one publication of a track
// and whether they were answered. Atomics only: requests come from every
// viewer's goroutine, keyframes from the publisher's.
type keyframeLearner struct {
	gen      atomic.Uint32 // publication the state below is about
	lastReq  atomic.Int64  // unix nanos of the last request sent
	lastKey  atomic.Int64  // unix nanos of the last keyframe start
	pending  atomic.Int64  // unix nanos of the oldest unanswered request; 0: none
	state    atomic.Int32  // 0 unknown, 1 answers, -1 deaf
	answered atomic.Int32  // consecutive answers while judged deaf
	probed   atomic.Bool   // the publication's probe was sent
}

// reset forgets what was learned about the previous publisher.
func (k *keyframeLearner) reset(gen uint32) {
	k.gen.Store(gen)
	k.pending.Store(0)
	k.lastKey.Store(0)
	k.state.Store(0)
	k.answered.Store(0)
	k.probed.Store(false)
}

// sent records a request sent at now.
func (k *keyframeLearner) sent(now int64) {
	k.pending.CompareAndSwap(0, now)
}

// keyframe records that a keyframe started a new GOP at now and judges the
// request it may answer.
func (k *keyframeLearner) keyframe(now int64) {
	k.lastKey.Store(now)
	if p := k.pending.Swap(0); p != 0 {
		k.judge(now-p <= int64(keyframeAnswerWindow))
	}
}

// expire judges a request still unanswered after the window as missed.
func (k *keyframeLearner) expire(now int64) {
	if p := k.pending.Load(); p != 0 && now-p > int64(keyframeAnswerWindow) && k.pending.CompareAndSwap(p, 0) {
		k.judge(false)
	}
}

// judge moves the verdict. One miss makes a publisher deaf: its viewers
// then start from the cache at once instead of waiting a window in vain.
// Becoming responsive again takes two answers in a row, since a deaf
// publisher's own keyframe can follow a request by chance.
func (k *keyframeLearner) judge(answered bool) {
	switch {
	case !answered:
		k.state.Store(-1)
		k.answered.Store(0)
	case k.state.Load() >= 0:
		k.state.Store(1)
	case k.answered.Add(1) >= 2:
		k.state.Store(1)
		k.answered.Store(0)
	}
}

func (k *keyframeLearner) verdict() KeyframeAnswers {
	switch k.state.Load() {
	case 1:
		return AnswersYes
	case -1:
		return AnswersNo
	}
	return AnswersUnknown
}

// probe asks a publisher not judged yet for one keyframe, once per
// publication, when its GOP has run for freshGOP: a publisher that answers
// is then known before its viewers need it (a browser sends no keyframe of
// its own after the first), and one that does not costs nothing. Earlier,
// the answer could not be told from the encoder's first keyframe. Called
// per packet by the publisher's goroutine: one atomic load once probed.
func (t *Track) probe(now int64) {
	k := &t.kf
	if k.probed.Load() || k.state.Load() != 0 {
		return
	}
	if last := k.lastKey.Load(); last == 0 || now-last < int64(freshGOP) || !k.probed.CompareAndSwap(false, true) {
		return
	}
	if p := t.stream.publisher.Load(); p != nil && !deaf(p) {
		t.requestKeyframe(now, keyframeThrottle)
	}
}

// RequestKeyframe asks the current publisher for a keyframe, at most once per
// keyframeThrottle. Safe to call per packet: a throttled call costs one atomic load.
func (t *Track) RequestKeyframe() {
	t.requestKeyframe(time.Now().UnixNano(), keyframeThrottle)
}

// requestAgain is RequestKeyframe for a viewer that keeps waiting: at most
// once per KeyframeRequestInterval.
func (t *Track) requestAgain(now int64) {
	t.requestKeyframe(now, max(keyframeThrottle, t.stream.reg.cfg.KeyframeRequestInterval))
}

func (t *Track) requestKeyframe(now int64, every time.Duration) {
	if t.Kind != KindVideo {
		return
	}
	last := t.kf.lastReq.Load()
	if now-last < int64(every) || !t.kf.lastReq.CompareAndSwap(last, now) {
		return
	}
	if p := t.stream.publisher.Load(); p != nil {
		t.stats.KeyframeRequests.Add(1)
		if !deaf(p) {
			t.kf.sent(now)
		}
		if lk, ok := p.pub.(LayerKeyframer); ok && t.group != nil {
			lk.RequestLayerKeyframe(t.Index, t.layer)
			return
		}
		p.pub.RequestKeyframe(t.Index)
	}
}

// Answers reports what the track has learned about its publisher.
func (t *Track) Answers() KeyframeAnswers {
	if p := t.stream.publisher.Load(); p != nil && deaf(p) {
		return AnswersNo
	}
	return t.kf.verdict()
}

// answers reports whether a viewer joining at now should ask for a fresh
// keyframe and wait for it rather than start from an old cached GOP.
func (t *Track) answers(now int64) bool {
	t.kf.expire(now)
	return t.Answers() == AnswersYes
}

func deaf(p *Publication) bool {
	d, ok := p.pub.(KeyframeDeaf)
	return ok && d.IgnoresKeyframeRequests()
}

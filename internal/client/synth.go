package client

import (
	"context"
	"errors"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Synthetic media for load tests: H.264 access units with real SPS, PPS, IDR
// and non-IDR slice NAL units (parsers and keyframe detectors see a real
// stream) at a chosen bitrate, frame rate and GOP, and Opus-sized audio
// packets. Every picture and audio packet carries a SynthMark: a magic, the
// frame counter, the send time (UnixNano of this machine's clock) and, for
// video, the number of RTP packets of the picture, so a receiver on the same
// machine measures one-way latency and checks that each picture arrived
// whole.
//
// SynthVideo, the H.264 pictures, is in synth_video.go; the config, the
// mark, the audio and the pacing are here.

// SynthConfig shapes the synthetic stream. Zero fields take the defaults of
// the performance brief: 2.5 Mbit/s, 30 fps, a keyframe every 2 s, 1200-byte
// payloads, 1280x720 in the SPS, 20 ms Opus packets at 64 kbit/s.
type SynthConfig struct {
	Bitrate      int // video bits per second
	FPS          int
	GOP          time.Duration
	MaxPayload   int // RTP payload bytes, FU-A header included
	Width        int
	Height       int
	AudioBitrate int
}

func (c SynthConfig) withDefaults() SynthConfig {
	if c.Bitrate <= 0 {
		c.Bitrate = 2_500_000
	}
	if c.FPS <= 0 {
		c.FPS = 30
	}
	if c.GOP <= 0 {
		c.GOP = 2 * time.Second
	}
	if c.MaxPayload < 100 {
		c.MaxPayload = 1200
	}
	if c.Width <= 0 || c.Height <= 0 {
		c.Width, c.Height = 1280, 720
	}
	if c.AudioBitrate <= 0 {
		c.AudioBitrate = 64_000
	}
	return c
}

// synthMagic opens every mark; it contains no zero byte.
var synthMagic = [4]byte{'W', 'G', 's', 'y'}

// The mark's numbers are written 7 bits per byte with the high bit set, so no
// byte of a mark is zero: H.264 emulation prevention (escapeRBSP) never
// touches it, and the slice's size in packets is known before escaping.
const (
	markFrameBytes = 8 // 56 bits
	markTimeBytes  = 9 // 63 bits of UnixNano
	markCountBytes = 2 // 14 bits
	synthMarkLen   = 4 + markFrameBytes + markTimeBytes + markCountBytes
)

// SynthMark is what a synthetic picture or audio packet says about itself.
type SynthMark struct {
	Frame   uint64    // counter from 0, per medium
	SentAt  time.Time // when the sender built it
	Packets int       // RTP packets of the picture's slice (video), 1 for audio
}

func put7(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = 0x80 | byte(v&0x7f)
		v >>= 7
	}
}

func get7(src []byte) (uint64, bool) {
	var v uint64
	for _, b := range src {
		if b&0x80 == 0 {
			return 0, false
		}
		v = v<<7 | uint64(b&0x7f)
	}
	return v, true
}

func putMark(dst []byte, m SynthMark) {
	copy(dst, synthMagic[:])
	put7(dst[4:4+markFrameBytes], m.Frame)
	put7(dst[4+markFrameBytes:4+markFrameBytes+markTimeBytes], uint64(m.SentAt.UnixNano()))
	put7(dst[4+markFrameBytes+markTimeBytes:synthMarkLen], uint64(m.Packets))
}

// synthPackets is how many packets a NAL unit of n bytes takes: one if it
// fits in maxPayload, else FU-A fragments of maxPayload-2 bytes of its body.
func synthPackets(n, maxPayload int) int {
	if n <= maxPayload {
		return 1
	}
	return (n - 1 + maxPayload - 3) / (maxPayload - 2)
}

func readMark(b []byte) (SynthMark, bool) {
	if len(b) < synthMarkLen || [4]byte(b[:4]) != synthMagic {
		return SynthMark{}, false
	}
	frame, ok1 := get7(b[4 : 4+markFrameBytes])
	sent, ok2 := get7(b[4+markFrameBytes : 4+markFrameBytes+markTimeBytes])
	n, ok3 := get7(b[4+markFrameBytes+markTimeBytes : synthMarkLen])
	if !ok1 || !ok2 || !ok3 {
		return SynthMark{}, false
	}
	return SynthMark{Frame: frame, SentAt: time.Unix(0, int64(sent)), Packets: int(n)}, true
}

// SynthAudio generates 20 ms Opus-sized packets (48 kHz clock). The first
// byte is a valid Opus TOC (CELT fullband 20 ms, stereo, one frame, RFC 6716
// §3.1); the rest is the mark and filler, not decodable audio.
type SynthAudio struct {
	size  int
	frame uint64
	seq   uint16
	ts    uint32
	pkt   rtp.Packet
	buf   []byte
}

// NewSynthAudio builds an audio generator for cfg.AudioBitrate.
func NewSynthAudio(cfg SynthConfig) *SynthAudio {
	cfg = cfg.withDefaults()
	size := max(1+synthMarkLen, cfg.AudioBitrate/8/50)
	return &SynthAudio{size: size, buf: make([]byte, size)}
}

// Frame is the number of the next packet Next builds.
func (a *SynthAudio) Frame() uint64 { return a.frame }

// Interval is the packet duration.
func (a *SynthAudio) Interval() time.Duration { return 20 * time.Millisecond }

// Next returns the next packet; it is reused by the next call.
func (a *SynthAudio) Next(now time.Time) *rtp.Packet {
	a.buf[0] = 31<<3 | 1<<2 // TOC: config 31 (CELT FB 20 ms), stereo, code 0
	putMark(a.buf[1:], SynthMark{Frame: a.frame, SentAt: now, Packets: 1})
	for i := 1 + synthMarkLen; i < len(a.buf); i++ {
		a.buf[i] = byte(i)
	}
	a.pkt.Header = rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: a.seq, Timestamp: a.ts, Marker: a.frame == 0}
	a.pkt.Payload = a.buf
	a.frame++
	a.seq++
	a.ts += 960
	return &a.pkt
}

// ErrNotSynth: the payload carries no synthetic mark.
var ErrNotSynth = errors.New("client: not a synthetic packet")

// ParseSynthAudio returns the mark of a synthetic audio payload.
func ParseSynthAudio(payload []byte) (SynthMark, error) {
	if len(payload) < 1 {
		return SynthMark{}, ErrNotSynth
	}
	m, ok := readMark(payload[1:])
	if !ok {
		return SynthMark{}, ErrNotSynth
	}
	return m, nil
}

// SynthSent reports one picture or audio packet handed to the publisher.
type SynthSent struct {
	Kind     webrtc.RTPCodecType
	Frame    uint64
	Keyframe bool
	Packets  int
	At       time.Time
}

// PaceSynth sends v's pictures every frame interval and a's packets every
// 20 ms through p until ctx ends (either generator may be nil). onSent, if
// set, is called after each send on this goroutine. Write errors before the
// connection is up are ignored, as the publisher drops those packets.
func PaceSynth(ctx context.Context, p *Publisher, v *SynthVideo, a *SynthAudio, onSent func(SynthSent)) {
	var vt, at <-chan time.Time
	if v != nil {
		t := time.NewTicker(v.FrameInterval())
		defer t.Stop()
		vt = t.C
	}
	if a != nil {
		t := time.NewTicker(a.Interval())
		defer t.Stop()
		at = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-vt:
			now := time.Now()
			frame := v.frame
			pkts := v.Next(now)
			kf := v.WasKeyframe()
			for _, pkt := range pkts {
				_ = p.WriteRTP(webrtc.RTPCodecTypeVideo, pkt)
			}
			if onSent != nil {
				onSent(SynthSent{Kind: webrtc.RTPCodecTypeVideo, Frame: frame, Keyframe: kf, Packets: len(pkts), At: now})
			}
		case <-at:
			now := time.Now()
			frame := a.frame
			_ = p.WriteRTP(webrtc.RTPCodecTypeAudio, a.Next(now))
			if onSent != nil {
				onSent(SynthSent{Kind: webrtc.RTPCodecTypeAudio, Frame: frame, Packets: 1, At: now})
			}
		}
	}
}

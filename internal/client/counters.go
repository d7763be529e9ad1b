package client

import (
	"sync/atomic"

	"github.com/pion/webrtc/v4"
)

// Counters count RTP packets and their payload bytes (RTP headers and
// padding excluded, so they compare directly with what a Source produced).
type Counters struct {
	Packets uint64
	Bytes   uint64
}

// kindCounters holds lock-free Counters for video and audio, updated on the
// media path and read by tests at any time.
type kindCounters struct {
	videoPackets, videoBytes atomic.Uint64
	audioPackets, audioBytes atomic.Uint64
}

func (k *kindCounters) add(kind webrtc.RTPCodecType, payloadBytes int) {
	switch kind {
	case webrtc.RTPCodecTypeVideo:
		k.videoPackets.Add(1)
		k.videoBytes.Add(uint64(payloadBytes))
	case webrtc.RTPCodecTypeAudio:
		k.audioPackets.Add(1)
		k.audioBytes.Add(uint64(payloadBytes))
	}
}

func (k *kindCounters) get(kind webrtc.RTPCodecType) Counters {
	switch kind {
	case webrtc.RTPCodecTypeVideo:
		return Counters{Packets: k.videoPackets.Load(), Bytes: k.videoBytes.Load()}
	case webrtc.RTPCodecTypeAudio:
		return Counters{Packets: k.audioPackets.Load(), Bytes: k.audioBytes.Load()}
	}
	return Counters{}
}

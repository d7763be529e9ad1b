// Package rtpconv adapts RTP video from RTSP sources to what WebRTC peers
// accept: H.264 and H.265 are depacketized and re-packetized into payloads of
// at most MaxPayload bytes (RFC 6184 / RFC 7798 packetization mode 1), and the
// cached parameter sets are put in front of every IDR/IRAP picture so a viewer
// joining at any keyframe can decode it.
//
// Cameras commonly send 1400-1460 byte FU-A fragments, or, in packetization
// mode 0, whole NAL units of several kilobytes in one RTP packet (over TCP).
// Both exceed the 1200-byte budget browsers and TURN relays tolerate, and
// many cameras send SPS/PPS only in the SDP (sprop-parameter-sets), which a
// WebRTC viewer never sees.
//
// The repacketizers work NAL unit by NAL unit, not access unit by access unit,
// so they add no latency beyond reassembling one fragmented NAL unit, and they
// reuse their buffers: the steady-state path does not allocate.
//
// What the repacketizers know about the bitstream (NAL unit types,
// aggregation layout, parameter sets, the fmtp lines describing the output)
// comes from internal/codec; this package only cuts and joins payloads.
//
// A repacketizer is used by one goroutine at a time.
package rtpconv

// MaxPayload is the largest RTP payload sent to WebRTC viewers: 1200 bytes
// of path-MTU budget (what libwebrtc assumes) minus room for the header
// extensions and SRTP auth tag a forwarding SFU may add.
const MaxPayload = 1188

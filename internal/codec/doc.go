// Package codec is the gateway's one home for codec bitstream knowledge:
// which codec a MIME type names (ID, resolved once per track), the H.264 and
// H.265 NAL unit and RTP packet types, the aggregation packets' unit layout
// (STAP-A, AP), the VP8/VP9 payload descriptors and AV1 aggregation header,
// where a decoder refresh point starts (Keyframe), the picture size a payload
// declares (Resolution), parameter sets (ParamSets: from fmtp, in-band, and
// the fmtp lines that carry them), AAC configurations (AudioSpecificConfig,
// RFC 3640 AU headers, RFC 6416 LATM StreamMuxConfig), fmtp parameters, and
// which codecs a WebRTC peer can receive.
//
// RTP (de)packetization, which changes payloads rather than reading them,
// lives in internal/rtpconv and uses this package for every bit it reads.
//
// Keyframe and the helpers it uses run once per forwarded packet: they read
// the payload in place, never allocate (H264NALTypes only grows a caller's
// buffer that is too small), and treat every length field as hostile: a
// malformed payload is reported as "not a keyframe", never a panic.
package codec

// Package codec inspects RTP payloads just enough to make forwarding
// decisions: which codec a MIME type names and whether a packet starts a
// decoder refresh point (a place a newly joined viewer can start decoding).
//
// Everything here runs once per forwarded packet, so the functions read the
// payload in place, never allocate (H264NALTypes only grows a caller's buffer
// that is too small), and treat every length field as hostile:
// a malformed payload is reported as "not a keyframe", never a panic.
package codec

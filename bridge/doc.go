// Package bridge connects RTSP to the stream registry, both ways.
//
//   - Sources pulls RTSP cameras (rtsp://, rtsps:// with an optional pinned
//     certificate fingerprint) and publishes each as a stream, always on or
//     on demand, with one upstream connection per camera. A camera that
//     fails is retried forever with jittered exponential backoff; its
//     publication is kept through the outage so viewers stay attached and
//     continue, with continuous timestamps, when it is back.
//   - Server is an RTSP (or, with a TLS config, RTSPS) server: every live
//     stream, whatever its publisher, is readable at rtsp://HOST:PORT/NAME,
//     each reader session with its own registry subscription so it starts at
//     a keyframe; RTSP clients (ffmpeg -f rtsp, encoders) publish with
//     ANNOUNCE/RECORD under the registry's replace policy.
//
// H.264 and H.265 entering the registry from RTSP are re-packetized to
// WebRTC-sized payloads with their parameter sets in front of every keyframe
// (internal/rtpconv); B-frames are detected and reported. Audio passes
// through; codecs WebRTC cannot play (AAC, G.711 at other rates than 8 kHz
// mono) are still published so RTSP readers keep them, and WHEP leaves them
// out (codec.WebRTCPlayable), as the source's status records. Anything
// else is refused per track; the other tracks still flow.
package bridge

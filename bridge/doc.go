// Package bridge connects RTSP to the stream registry, both ways.
//
//   - Sources pulls RTSP cameras (rtsp://, rtsps://) and publishes each as a
//     stream, always on or on demand, reconnecting with backoff forever.
//   - Server is an RTSP server: every live stream, whatever its publisher,
//     is readable at rtsp://HOST:PORT/NAME, and RTSP clients (ffmpeg -f rtsp,
//     OBS, encoders) publish with ANNOUNCE/RECORD.
//
// H.264 and H.265 entering the registry from RTSP are re-packetized to
// WebRTC-sized payloads with their parameter sets in front of every keyframe
// (internal/rtpconv). Audio passes through; codecs WebRTC cannot play (AAC,
// G.711 at other rates than 8 kHz mono) are still published so RTSP readers
// keep them, and are marked in the source's status for WHEP to skip
// (rtpconv.WebRTCPlayable). Anything else is refused per track.
package bridge

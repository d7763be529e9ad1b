// Package streams is the in-memory stream registry and the media fan-out.
//
// A Stream has at most one publisher and any number of subscribers. Each
// published medium is a Track; the publisher writes RTP packets into its
// tracks and they reach every subscriber without the publisher ever
// waiting for one. The fan-out has one shape:
//
//   - A subscriber starts on its own goroutine (Subscription.Run): its
//     bounded queue holds the live packets while the cached GOP (or a fresh
//     keyframe) is written to it (start.go).
//   - Then a subscriber whose Sink never blocks (NonBlockingSink: a WHEP
//     viewer, whatever its transport) is handed over to its tracks' fan-out
//     workers, a few goroutines per track (direct.go, worker.go). A worker
//     writes a pass of waiting packets viewer by viewer; a BatchSink's
//     writes of the pass are collected in the worker's Batch and sent
//     together when the pass ends (whep: one sendmmsg for all of them).
//   - A subscriber whose Sink can block (an RTSP reader on TCP, a relay)
//     stays on its own goroutine and queue.
//
// Either way a full queue drops the packet, counts it, and puts the
// subscriber back into "wait for a keyframe" so it never decodes a broken
// picture; a sink that drops a packet itself (ErrDropped) is treated the
// same.
//
// The package knows RTP but nothing of WebRTC, RTSP or HTTP: whip, whep and
// bridge adapt their protocols to Publisher and Sink.
package streams

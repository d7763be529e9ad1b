// Package streams is the in-memory stream registry and the media fan-out.
//
// A Stream has at most one publisher and any number of subscribers. Each
// published medium is a Track; the publisher writes RTP packets into its
// tracks and every subscriber receives them through its own bounded queue,
// drained by the subscriber's own goroutine. The publisher never waits for a
// subscriber: a full queue drops the packet, counts it, and puts the
// subscriber back into "wait for a keyframe" so it never decodes a broken
// picture.
//
// The package knows RTP but nothing of WebRTC, RTSP or HTTP: whip, whep and
// bridge adapt their protocols to Publisher and Sink.
package streams

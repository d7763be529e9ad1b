// Package whep holds the viewer side of WHEP (draft-ietf-wish-whep): a
// Handler that answers a viewer's recvonly offer with the live stream's
// tracks at the viewer's payload types, and the session itself, a peer
// connection fed by a subscription to the stream (streams.Sink), which
// also answers the viewer's RTCP (keyframe requests, NACKs from the
// stream's history, receiver reports).
//
// The HTTP semantics of WHEP are not here: the POST and its status codes,
// the session URL, PATCH (trickle, ICE restart), DELETE, CORS and the
// tokens are internal/signaling's, for WHIP and WHEP alike. A Handler is
// the signaling.Endpoint mounted at /whep/ (and, in a cluster, at
// /cluster/whep/ for relays).
package whep

// Package whip holds the publisher side of RFC 9725: a Handler that turns a
// publisher's SDP offer into an answer and a session, and the session
// itself, a peer connection whose RTP feeds a stream of the registry
// (streams.Publisher) until the peer leaves, is replaced or is kicked.
//
// The HTTP semantics of WHIP are not here: the POST and its status codes,
// the session URL, PATCH (trickle, ICE restart), DELETE, CORS and the
// tokens are internal/signaling's, for WHIP and WHEP alike. A Handler is
// the signaling.Endpoint mounted at /whip/.
package whip

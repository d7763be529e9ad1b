// Package client is a WHIP publisher and WHEP viewer built on pion, speaking
// the gateway's HTTP contract (RFC 9725 style: POST offer → 201 answer,
// PATCH trickle/ICE restart, DELETE teardown). It exists so end-to-end tests
// and the load tool drive the gateway through real WebRTC stacks rather than
// mocks.
//
// Peers are loopback-only by default (IPv4 127.0.0.1, UDP, no mDNS) so tests
// are hermetic and never depend on the host's network interfaces.
package client

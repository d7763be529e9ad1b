// Package signaling is the HTTP edge shared by WHIP and WHEP: body and
// Content-Type rules, bearer tokens, CORS, problem responses, and the session
// resources (PATCH trickle / ICE restart, DELETE) below each endpoint.
// The protocol-specific part, turning an offer into an answer and a session,
// is an Endpoint supplied by package whip or whep.
package signaling

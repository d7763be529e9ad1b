// Package rtc holds the WebRTC plumbing shared by WHIP and WHEP: the one UDP
// socket all media flows through, the per-session pion API, offer parsing and
// codec choice, the answer rewrite that makes pion's SDP acceptable to real
// WHIP/WHEP clients, and trickle/ICE-restart handling.
package rtc

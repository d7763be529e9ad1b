package rtc

import (
	"time"

	"github.com/pion/rtcp"
)

// Clock maps a wall-clock instant to a track's RTP timestamp (ok false
// while it cannot tell): streams.Track.RTPTimeAt, or a simulcast viewer's
// Subscription.RTPTimeAt.
type Clock func(now time.Time) (ts uint32, ok bool)

// ReportInterval is how often a viewer's sender reports go out, per stream
// (pion's and libwebrtc's default).
const ReportInterval = time.Second

// SenderReport is stream i's RTCP sender report at now (RFC 3550 §6.4.1):
// the SSRC, packet and payload octet counts of what the egress sealed on it
// (retransmissions included), and the NTP/RTP pair from clock, the media's
// own clock rather than the send time of the newest packet: a receiver
// aligns its tracks by these pairs (lip sync), and a packet can leave later
// than its media arrived (a paced start burst, a converted track's frames).
// nil before the stream has sent anything (§6.4: a source that has not sent
// sends no SR) or while the clock cannot tell.
func (g *Egress) SenderReport(i int, clock Clock, now time.Time) *rtcp.SenderReport {
	ssrc, packets, octets := g.Sent(i)
	if packets == 0 || clock == nil {
		return nil
	}
	ts, ok := clock(now)
	if !ok {
		return nil
	}
	// The counts wrap modulo 2^32 (§6.4.1).
	return &rtcp.SenderReport{SSRC: ssrc, NTPTime: NTPTime(now), RTPTime: ts,
		PacketCount: uint32(packets), OctetCount: uint32(octets)}
}

// NTPTime is t as a 64-bit NTP timestamp (RFC 5905 §6).
func NTPTime(t time.Time) uint64 {
	const ntpEpochOffset = 2208988800 // seconds from 1900 to 1970
	secs := uint64(t.Unix() + ntpEpochOffset)
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return secs<<32 | frac
}

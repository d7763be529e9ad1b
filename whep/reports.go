package whep

import (
	"context"
	"time"

	"github.com/pion/rtcp"

	"github.com/wishgate/wishgate/internal/rtc"
)

// sendReports sends an RTCP sender report for every track that has sent
// media, every rtc.ReportInterval, until ctx ends (rtc.Egress.SenderReport:
// the counts of what the viewer's egress sent, the NTP/RTP pair of the
// track's media clock, which receivers use for lip sync and which answers
// their LSR/DLSR round trip, stats.go). They go through pion's SRTCP
// session: one write a second per track, not per packet.
func (s *session) sendReports(ctx context.Context) {
	t := time.NewTicker(rtc.ReportInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			now := time.Now()
			for i, lt := range s.sink.tracks {
				if lt == nil {
					continue
				}
				if sr := s.egress.SenderReport(i, lt.clock, now); sr != nil {
					if err := s.pc.WriteRTCP([]rtcp.Packet{sr}); err != nil {
						return // the peer connection is closing
					}
				}
			}
		}
	}
}

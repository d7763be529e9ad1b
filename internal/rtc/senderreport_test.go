package rtc

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

type srCollector struct {
	mu  sync.Mutex
	srs []*rtcp.SenderReport
}

func (c *srCollector) Write(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range pkts {
		if sr, ok := p.(*rtcp.SenderReport); ok {
			c.srs = append(c.srs, sr)
		}
	}
	return 0, nil
}

func (c *srCollector) bySSRC(ssrc uint32) *rtcp.SenderReport {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.srs) - 1; i >= 0; i-- {
		if c.srs[i].SSRC == ssrc {
			return c.srs[i]
		}
	}
	return nil
}

// A stream with a registered clock reports the clock's timestamp for the
// report's NTP time, however late its packets were sent; one without
// reports its newest packet's timestamp advanced by the time since it was
// sent; one that sent nothing reports nothing.
func TestSenderReportsUseTheTrackClock(t *testing.T) {
	clocks := NewSenderClocks()
	epoch := time.Now()
	clocks.Set(1, func(now time.Time) (uint32, bool) {
		return 1_000_000 + uint32(now.Sub(epoch).Seconds()*48000), true
	})
	f := senderReportFactory{clocks: clocks}
	i, _ := f.NewInterceptor("")
	sr := i.(*senderReports)
	sr.interval = 10 * time.Millisecond
	var col srCollector
	sr.BindRTCPWriter(&col)
	nop := interceptor.RTPWriterFunc(func(*rtp.Header, []byte, interceptor.Attributes) (int, error) { return 0, nil })
	withClock := sr.BindLocalStream(&interceptor.StreamInfo{SSRC: 1, ClockRate: 48000}, nop)
	sendTime := sr.BindLocalStream(&interceptor.StreamInfo{SSRC: 2, ClockRate: 90000}, nop)
	sr.BindLocalStream(&interceptor.StreamInfo{SSRC: 3, ClockRate: 8000}, nop)
	// Packets whose timestamps say nothing of the clock: ignored for SSRC 1.
	_, _ = withClock.Write(&rtp.Header{Timestamp: 5}, []byte{1, 2, 3}, nil)
	_, _ = sendTime.Write(&rtp.Header{Timestamp: 90000}, []byte{1}, nil)
	deadline := time.Now().Add(5 * time.Second)
	for col.bySSRC(1) == nil || col.bySSRC(2) == nil {
		if time.Now().After(deadline) {
			t.Fatal("no sender reports within 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := sr.Close(); err != nil {
		t.Fatal(err)
	}
	toTime := func(ntp uint64) time.Time {
		return time.Unix(int64(ntp>>32)-2208988800, int64((ntp&0xffffffff)*uint64(time.Second)>>32))
	}
	a := col.bySSRC(1)
	want := 1_000_000 + uint32(toTime(a.NTPTime).Sub(epoch).Seconds()*48000)
	if d := int32(a.RTPTime - want); d < -48 || d > 48 || a.PacketCount != 1 || a.OctetCount != 3 {
		t.Errorf("clocked SR: rtp %d, want %d (±1 ms); %d packets %d octets", a.RTPTime, want, a.PacketCount, a.OctetCount)
	}
	b := col.bySSRC(2)
	if d := b.RTPTime - 90000; d > 90000 {
		t.Errorf("send-time SR: rtp %d, more than a second after the packet's 90000", b.RTPTime)
	}
	if col.bySSRC(3) != nil {
		t.Error("an SR for a stream that sent nothing")
	}
}

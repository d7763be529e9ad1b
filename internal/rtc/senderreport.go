package rtc

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// Clock maps a wall-clock instant to a track's RTP timestamp (ok false
// while it cannot tell): streams.Track.RTPTimeAt.
type Clock func(now time.Time) (ts uint32, ok bool)

// SenderClocks holds a peer connection's clock per sending SSRC. An RTCP
// sender report (RFC 3550 §6.4.1) pairs an NTP time with the RTP timestamp
// of the same instant; a receiver aligns its tracks by these pairs (lip
// sync). pion's report interceptor takes the pair from when each packet was
// sent, which is right only when a track's packets leave as their media
// arrives. A converted track's packets leave later than the media they
// carry arrived (an Opus frame waits for its 20 ms to be decoded), so its
// reports must come from the media's own clock: the track registers it here
// when it binds its SSRC.
type SenderClocks struct {
	mu     sync.Mutex
	bySSRC map[uint32]Clock
}

// NewSenderClocks returns an empty set.
func NewSenderClocks() *SenderClocks { return &SenderClocks{bySSRC: map[uint32]Clock{}} }

// Set registers the clock of the track sending as ssrc.
func (c *SenderClocks) Set(ssrc uint32, clock Clock) {
	c.mu.Lock()
	c.bySSRC[ssrc] = clock
	c.mu.Unlock()
}

func (c *SenderClocks) get(ssrc uint32) Clock {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bySSRC[ssrc]
}

// reportInterval is how often sender reports go out, per stream (pion's
// and libwebrtc's default).
const reportInterval = time.Second

// senderReportFactory makes one senderReports per peer connection.
type senderReportFactory struct{ clocks *SenderClocks }

func (f senderReportFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &senderReports{clocks: f.clocks, interval: reportInterval, streams: map[uint32]*srStream{}, stop: make(chan struct{})}, nil
}

// senderReports sends an SR per sending stream every reportInterval: the
// stream's registered Clock when it has one and the clock can tell, else
// the time its newest packet was sent (what pion's interceptor does).
type senderReports struct {
	interceptor.NoOp
	clocks   *SenderClocks
	interval time.Duration

	mu      sync.Mutex
	streams map[uint32]*srStream
	started bool
	closed  bool
	stop    chan struct{}
	wg      sync.WaitGroup
}

type srStream struct {
	ssrc      uint32
	clockRate uint32
	clock     Clock // registered before the stream binds (localTrack.Bind), or nil
	packets   atomic.Uint32
	octets    atomic.Uint32
	// send-time fallback: the newest timestamp and when it was sent
	mu     sync.Mutex
	lastTS uint32
	lastAt time.Time
}

func (s *senderReports) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started && !s.closed {
		s.started = true
		s.wg.Add(1)
		go s.loop(w)
	}
	return w
}

func (s *senderReports) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	st := &srStream{ssrc: info.SSRC, clockRate: info.ClockRate, clock: s.clocks.get(info.SSRC)}
	s.mu.Lock()
	s.streams[info.SSRC] = st
	s.mu.Unlock()
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		st.packets.Add(1)
		st.octets.Add(uint32(len(payload)))
		// The send-time fallback, for tracks whose clock cannot tell (a
		// simulcast group's viewers are on a layer of their own).
		st.mu.Lock()
		if st.lastAt.IsZero() || int32(h.Timestamp-st.lastTS) > 0 {
			st.lastTS, st.lastAt = h.Timestamp, time.Now()
		}
		st.mu.Unlock()
		return w.Write(h, payload, a)
	})
}

func (s *senderReports) UnbindLocalStream(info *interceptor.StreamInfo) {
	s.mu.Lock()
	delete(s.streams, info.SSRC)
	s.mu.Unlock()
}

func (s *senderReports) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.stop)
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

func (s *senderReports) loop(w interceptor.RTCPWriter) {
	defer s.wg.Done()
	tick := time.NewTicker(s.interval)
	defer tick.Stop()
	var list []*srStream
	for {
		select {
		case <-tick.C:
		case <-s.stop:
			return
		}
		s.mu.Lock()
		list = list[:0]
		for _, st := range s.streams {
			list = append(list, st)
		}
		s.mu.Unlock()
		now := time.Now()
		for _, st := range list {
			if sr := s.report(st, now); sr != nil {
				_, _ = w.Write([]rtcp.Packet{sr}, interceptor.Attributes{})
			}
		}
	}
}

// report is st's SR at now, or nil before it has sent anything (RFC 3550
// §6.4: a source that has not sent sends no SR).
func (s *senderReports) report(st *srStream, now time.Time) *rtcp.SenderReport {
	n := st.packets.Load()
	if n == 0 {
		return nil
	}
	var ts uint32
	ok := false
	if st.clock != nil {
		ts, ok = st.clock(now)
	}
	if !ok {
		st.mu.Lock()
		last, at := st.lastTS, st.lastAt
		st.mu.Unlock()
		if at.IsZero() {
			return nil
		}
		ts = last + uint32(now.Sub(at).Seconds()*float64(st.clockRate))
	}
	return &rtcp.SenderReport{SSRC: st.ssrc, NTPTime: NTPTime(now), RTPTime: ts, PacketCount: n, OctetCount: st.octets.Load()}
}

// NTPTime is t as a 64-bit NTP timestamp (RFC 5905 §6).
func NTPTime(t time.Time) uint64 {
	const ntpEpochOffset = 2208988800 // seconds from 1900 to 1970
	secs := uint64(t.Unix() + ntpEpochOffset)
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return secs<<32 | frac
}

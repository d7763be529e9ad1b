package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wishgate/wishgate/internal/signaling"
	"github.com/wishgate/wishgate/streams"
)

func (a *API) listStreams(c echo.Context) error {
	infos := a.cfg.Registry.List()
	sess := a.sessionStats()
	now := time.Now()
	out := itemsJSON[streamJSON]{Items: make([]streamJSON, 0, len(infos))}
	for _, info := range infos {
		out.Items = append(out.Items, a.streamView(info, sess, now))
	}
	return c.JSON(http.StatusOK, out)
}

func (a *API) getStream(c echo.Context) error {
	info, ok := a.cfg.Registry.Info(c.Param("name"))
	if !ok {
		return a.writeError(c, ErrStreamNotFound)
	}
	return c.JSON(http.StatusOK, a.streamView(info, a.sessionStats(), time.Now()))
}

// deleteStream kicks the publisher and every reader; the registry ends
// their sessions, whose peers then see the connection close.
func (a *API) deleteStream(c echo.Context) error {
	name := c.Param("name")
	if !a.cfg.Registry.Delete(name) {
		return a.writeError(c, ErrStreamNotFound)
	}
	a.log.Info("stream deleted over the API", "stream", name, "remote", c.Request().RemoteAddr)
	return c.NoContent(http.StatusNoContent)
}

// sessionStats indexes the edge's live sessions' counters by public id.
func (a *API) sessionStats() map[string]*signaling.MediaStats {
	out := map[string]*signaling.MediaStats{}
	if a.cfg.Sessions == nil {
		return out
	}
	for _, s := range a.cfg.Sessions.Sessions() {
		if !s.Ended && s.Stats != nil {
			out[s.ID] = s.Stats
		}
	}
	return out
}

func (a *API) streamView(info streams.StreamInfo, sess map[string]*signaling.MediaStats, now time.Time) streamJSON {
	v := streamJSON{
		Name:          info.Name,
		State:         string(info.State),
		Since:         info.Since.UTC(),
		UptimeSeconds: now.Sub(info.Since).Seconds(),
		Tracks:        make([]trackJSON, 0, len(info.Tracks)),
		Readers:       make([]readerJSON, 0, len(info.Subscribers)),
	}
	if p := info.Publisher; p != nil {
		v.Source = &sourceJSON{Kind: sourceKind(p.Protocol), RemoteAddr: p.RemoteAddr, SessionID: p.SessionID}
	}
	var total float64
	for _, t := range info.Tracks {
		tj := trackJSON{
			Index: t.Index, Kind: t.Kind.String(), Codec: t.Codec.Name(),
			ClockRate: t.Codec.ClockRate, Channels: t.Codec.Channels, Fmtp: t.Codec.Fmtp,
			Packets: t.Packets, Bytes: t.Bytes, Keyframes: t.Keyframes,
		}
		tj.WebRTCPlayable, tj.Note = playable(t.Codec)
		if t.Width > 0 && t.Height > 0 {
			w, h := t.Width, t.Height
			tj.Width, tj.Height = &w, &h
		}
		if a.cfg.Sampler != nil {
			bps := a.cfg.Sampler.Bitrate(info.Name, t.Index, t.Bytes)
			tj.BitrateBps = int64(bps)
			total += bps
		}
		v.Tracks = append(v.Tracks, tj)
	}
	v.IngestBitrateBps = int64(total)
	for _, sub := range info.Subscribers {
		r := readerJSON{
			ID: sub.SessionID, Kind: sub.Protocol, RemoteAddr: sub.RemoteAddr, Since: sub.Since.UTC(),
			PacketsSent: sub.Sent, PacketsDropped: sub.Dropped,
		}
		if st := sess[sub.SessionID]; st != nil {
			r.BytesSent = st.BytesSent
			if st.HaveRR {
				jit := float64(st.Jitter) / float64(time.Millisecond)
				fl := st.FractionLost
				r.JitterMs, r.FractionLost = &jit, &fl
			}
			if st.HaveRTT {
				rtt := float64(st.RTT) / float64(time.Millisecond)
				r.RTTMs = &rtt
			}
		}
		switch sub.Protocol {
		case "whep":
			v.Viewers.WHEP++
		case "rtsp":
			v.Viewers.RTSP++
		}
		v.Readers = append(v.Readers, r)
	}
	return v
}

// sourceKind names a publisher's protocol as the API does.
func sourceKind(protocol string) string {
	switch protocol {
	case "rtsp":
		return "rtsp-publish"
	case "":
		return "whip"
	}
	return protocol
}

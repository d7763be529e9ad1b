package api

import (
	"net/http"
	"sort"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wishgate/wishgate/bridge"
	"github.com/wishgate/wishgate/internal/signaling"
	"github.com/wishgate/wishgate/streams"
)

// listStreams lists the registry's streams and, when the bridge is on, the
// configured camera sources that have no stream right now (an on-demand
// camera nobody watches, a camera being reconnected), sorted by name.
func (a *API) listStreams(c echo.Context) error {
	infos := a.cfg.Registry.List()
	srcs := a.sourceIndex()
	sess := a.sessionStats()
	now := time.Now()
	out := itemsJSON[streamJSON]{Items: make([]streamJSON, 0, len(infos)+len(srcs))}
	for _, info := range infos {
		out.Items = append(out.Items, a.streamView(info, srcs, sess, now))
		delete(srcs, info.Name)
	}
	for _, st := range srcs {
		out.Items = append(out.Items, sourceOnlyView(st, now))
	}
	sort.Slice(out.Items, func(i, j int) bool { return out.Items[i].Name < out.Items[j].Name })
	return c.JSON(http.StatusOK, out)
}

func (a *API) getStream(c echo.Context, name string) error {
	srcs := a.sourceIndex()
	if info, ok := a.cfg.Registry.Info(name); ok {
		return c.JSON(http.StatusOK, a.streamView(info, srcs, a.sessionStats(), time.Now()))
	}
	if st, ok := srcs[name]; ok {
		return c.JSON(http.StatusOK, sourceOnlyView(st, time.Now()))
	}
	return a.writeError(c, ErrStreamNotFound)
}

// sourceIndex returns the configured camera sources by stream name.
func (a *API) sourceIndex() map[string]bridge.SourceStatus {
	out := map[string]bridge.SourceStatus{}
	if a.cfg.Sources != nil {
		for _, st := range a.cfg.Sources.List() {
			out[st.Name] = st
		}
	}
	return out
}

// sourceOnlyView describes a configured camera whose stream does not exist
// at the moment.
func sourceOnlyView(st bridge.SourceStatus, now time.Time) streamJSON {
	since := st.Since
	if since.IsZero() {
		since = now
	}
	v := streamJSON{
		Name: st.Name, State: sourceStreamState(st.State, "waiting"),
		Source: &sourceJSON{Kind: streams.SessionRTSPSource.String(), URL: st.URL},
		Since:  since.UTC(), UptimeSeconds: now.Sub(since).Seconds(),
		Tracks: []trackJSON{}, Readers: []readerJSON{},
	}
	return v
}

// sourceStreamState maps a camera source's state onto the stream states of
// the API; otherwise is the state when the camera is playing.
func sourceStreamState(state, otherwise string) string {
	switch state {
	case bridge.StateIdle, bridge.StateStandby:
		return "idle"
	case bridge.StateRetrying, bridge.StateConnecting:
		return "reconnecting"
	}
	return otherwise
}

// deleteStream kicks the publisher and every reader; the registry ends
// their sessions, whose peers then see the connection close.
func (a *API) deleteStream(c echo.Context, name string) error {
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

func (a *API) streamView(info streams.StreamInfo, srcs map[string]bridge.SourceStatus, sess map[string]*signaling.MediaStats, now time.Time) streamJSON {
	v := streamJSON{
		Name:          info.Name,
		State:         string(info.State),
		Since:         info.Since.UTC(),
		UptimeSeconds: now.Sub(info.Since).Seconds(),
		Tracks:        make([]trackJSON, 0, len(info.Tracks)),
		Readers:       make([]readerJSON, 0, len(info.Subscribers)),
	}
	if p := info.Publisher; p != nil {
		v.Source = &sourceJSON{Kind: p.Kind.String(), RemoteAddr: p.RemoteAddr, SessionID: p.SessionID, OriginNode: p.Origin}
		v.OriginNode = a.originNode(p.Origin, true)
	}
	if st, ok := srcs[info.Name]; ok {
		if v.Source == nil {
			v.Source = &sourceJSON{Kind: streams.SessionRTSPSource.String()}
		}
		if v.Source.Kind == streams.SessionRTSPSource.String() {
			v.Source.URL = st.URL // masked by the bridge
			if info.State != streams.StateLive || st.State != bridge.StatePlaying {
				// The camera is down, silent or not sending yet while its
				// publication holds the viewers: say so, and since when.
				otherwise := v.State
				if info.Publisher != nil {
					otherwise = "reconnecting"
				}
				v.State = sourceStreamState(st.State, otherwise)
				if !st.Since.IsZero() && st.State != bridge.StatePlaying {
					v.Since, v.UptimeSeconds = st.Since.UTC(), now.Sub(st.Since).Seconds()
				}
			}
		}
	}
	var lost []uint64
	if p := info.Publisher; p != nil {
		if st := sess[p.SessionID]; st != nil {
			lost = st.Lost
		}
	}
	var total float64
	for _, t := range info.Tracks {
		tj := trackJSON{
			Index: t.Index, Kind: t.Kind.String(), Codec: t.Codec.Name(),
			ClockRate: t.Codec.ClockRate, Channels: t.Codec.Channels, Fmtp: t.Codec.Fmtp,
			Packets: t.Packets, Bytes: t.Bytes, Keyframes: t.Keyframes,
			IngestDropped: dropsJSON{Malformed: t.Dropped.Malformed, Unsupported: t.Dropped.Unsupported, Oversized: t.Dropped.Oversized},
		}
		tj.WebRTCPlayable, tj.Note, tj.Transcode = a.playable(t)
		if t.Kind == streams.KindVideo {
			a := string(t.KeyframeAnswers)
			tj.KeyframeAnswers = &a
		}
		if t.Index < len(lost) {
			tj.Lost = lost[t.Index]
		}
		if t.Width > 0 && t.Height > 0 {
			w, h := t.Width, t.Height
			tj.Width, tj.Height = &w, &h
		}
		if a.cfg.Sampler != nil {
			bps := a.cfg.Sampler.Bitrate(info.Name, t.Index, t.Bytes)
			tj.BitrateBps = int64(bps)
			total += bps
		}
		tj.Layers = make([]layerJSON, 0, len(t.Layers))
		for _, l := range t.Layers {
			lj := layerJSON{RID: l.RID, BitrateBps: int64(l.BitrateBps), Packets: l.Packets, Bytes: l.Bytes,
				Keyframes: l.Keyframes, Active: l.Active}
			if l.Width > 0 && l.Height > 0 {
				w, h := l.Width, l.Height
				lj.Width, lj.Height = &w, &h
			}
			tj.Layers = append(tj.Layers, lj)
		}
		v.Tracks = append(v.Tracks, tj)
	}
	v.IngestBitrateBps = int64(total)
	for _, sub := range info.Subscribers {
		r := readerJSON{
			ID: sub.SessionID, Kind: sub.Kind.Protocol(), RemoteAddr: sub.RemoteAddr, Since: sub.Since.UTC(),
			PacketsSent: sub.Sent, PacketsDropped: sub.Dropped,
			BytesSent: sub.SentBytes, // RTSP readers; a WHEP session counts its own below
		}
		r.VideoPaused = sub.VideoPaused
		if len(sub.Layers) > 0 {
			l := sub.Layers[0]
			r.Layer = &readerLayerJSON{RID: l.RID, Choice: l.Choice.String(), Switches: l.Switches}
			if l.Target != "" {
				target := l.Target
				r.Layer.Target = &target
			}
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
		switch sub.Kind {
		case streams.SessionWHEP:
			v.Viewers.WHEP++
		case streams.SessionRTSPRead:
			v.Viewers.RTSP++
		}
		v.Readers = append(v.Readers, r)
	}
	return v
}

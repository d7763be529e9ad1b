package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// Report is wishbench's result; it is printed as a table and written as JSON.
type Report struct {
	Target  string   `json:"target"`
	Viewers int      `json:"viewers"`
	Joined  int      `json:"joined"`
	Failed  int      `json:"failed_joins"`
	Errors  []string `json:"errors,omitempty"`

	Config struct {
		BitrateBps int     `json:"bitrate_bps"`
		FPS        int     `json:"fps"`
		GOPSeconds float64 `json:"gop_s"`
		StaggerMS  float64 `json:"stagger_ms"`
		WarmupS    float64 `json:"warmup_s"`
		MeasureS   float64 `json:"measure_s"`
		ViewerNACK bool    `json:"viewer_nack"`
		Simulcast  bool    `json:"simulcast"`
		Layer      string  `json:"layer"`
	} `json:"config"`

	// PacketRate is RTP packets per second one viewer receives (video+audio).
	PacketRate float64 `json:"packet_rate_per_viewer"`

	Server *ServerUsage `json:"server,omitempty"`
	// ToolCores is this process's own CPU during the measurement window.
	ToolCores float64 `json:"tool_cores"`

	JoinFirstRTPMS      Quantiles `json:"join_first_rtp_ms"`
	JoinFirstKeyframeMS Quantiles `json:"join_first_keyframe_ms"`
	NoKeyframe          int       `json:"viewers_without_keyframe"`
	LatencyMS           Quantiles `json:"latency_ms"`

	FramesSent      int     `json:"frames_sent_in_window"`
	DeliveredMean   float64 `json:"delivered_mean"`
	DeliveredMin    float64 `json:"delivered_min"`
	BrokenFrames    uint64  `json:"broken_frames"`
	ViewersBelow999 int     `json:"viewers_below_0999"`

	Floor *FloorReport `json:"floor,omitempty"`
	AB    *ABReport    `json:"ab,omitempty"`
}

// ServerUsage is the server process's CPU and memory over the window.
type ServerUsage struct {
	PID                 int     `json:"pid"`
	Cores               float64 `json:"cpu_cores"`
	MillicoresPerViewer float64 `json:"millicores_per_viewer"`
	RSSBeforeMB         float64 `json:"rss_before_viewers_mb"`
	RSSMB               float64 `json:"rss_mb"`
	RSSPerViewerMB      float64 `json:"rss_per_viewer_mb"`
}

// FloorReport puts the floors in the same unit as the server's cost.
type FloorReport struct {
	floors
	PionMillicoresPerViewer float64 `json:"pion_millicores_per_viewer"`
	SRTPMillicoresPerViewer float64 `json:"srtp_millicores_per_viewer"`
	RatioToPion             float64 `json:"server_ratio_to_pion_floor,omitempty"`
	RatioToSRTP             float64 `json:"server_ratio_to_srtp_floor,omitempty"`
}

// Quantiles summarise samples.
type Quantiles struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func quantiles(xs []float64) Quantiles {
	if len(xs) == 0 {
		return Quantiles{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	at := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(s)))) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return Quantiles{N: len(s), P50: at(0.50), P95: at(0.95), P99: at(0.99), Max: s[len(s)-1]}
}

// WriteTable prints the report for people.
func (r *Report) WriteTable(w io.Writer) {
	line := func(k, format string, a ...any) { fmt.Fprintf(w, "%-34s "+format+"\n", append([]any{k}, a...)...) }
	fmt.Fprintln(w, strings.Repeat("-", 72))
	line("target", "%s", r.Target)
	line("viewers (joined / failed)", "%d (%d / %d)", r.Viewers, r.Joined, r.Failed)
	line("stream", "%.2f Mbit/s, %d fps, GOP %.1f s, %.0f RTP pkt/s per viewer",
		float64(r.Config.BitrateBps)/1e6, r.Config.FPS, r.Config.GOPSeconds, r.PacketRate)
	if s := r.Server; s != nil {
		line("server CPU", "%.3f cores, %.2f millicores/viewer", s.Cores, s.MillicoresPerViewer)
		line("server RSS", "%.1f MB (%.1f before viewers), %.3f MB/viewer", s.RSSMB, s.RSSBeforeMB, s.RSSPerViewerMB)
	}
	line("tool CPU", "%.3f cores", r.ToolCores)
	q := r.JoinFirstRTPMS
	line("join → first RTP (ms)", "p50 %.0f  p95 %.0f  max %.0f  (n=%d)", q.P50, q.P95, q.Max, q.N)
	q = r.JoinFirstKeyframeMS
	line("join → first keyframe (ms)", "p50 %.0f  p95 %.0f  max %.0f  (n=%d, %d without)", q.P50, q.P95, q.Max, q.N, r.NoKeyframe)
	q = r.LatencyMS
	line("one-way latency (ms)", "p50 %.2f  p99 %.2f  max %.1f  (%d frames)", q.P50, q.P99, q.Max, q.N)
	line("delivered (whole frames)", "mean %.4f  min %.4f  (%d sent, %d viewers < 0.999)",
		r.DeliveredMean, r.DeliveredMin, r.FramesSent, r.ViewersBelow999)
	line("broken frames (all viewers)", "%d", r.BrokenFrames)
	if f := r.Floor; f != nil {
		line("floor: pion WriteRTP", "%.2f µs/pkt = %.2f millicores/viewer", f.PionWriteUS, f.PionMillicoresPerViewer)
		line("floor: AES-GCM SRTP + sendto", "%.2f µs/pkt = %.2f millicores/viewer", f.SRTPSendtoUS, f.SRTPMillicoresPerViewer)
		if f.RatioToPion > 0 {
			line("server / floors", "%.2f× pion, %.2f× SRTP+sendto", f.RatioToPion, f.RatioToSRTP)
		}
	}
	if ab := r.AB; ab != nil {
		for i, p := range ab.Phases {
			mode := "top layer"
			if p.Auto {
				mode = "auto"
			}
			line(fmt.Sprintf("A/B phase %d (%s)", i+1, mode), "%.2f millicores/viewer, delivered min %.4f", p.MillicoresPerViewer, p.DeliveredMin)
		}
		line("A/B: auto / top layer", "%.3f (medians %.2f / %.2f millicores/viewer)", ab.Ratio, ab.AutoMillicores, ab.FixedMillicores)
	}
	for _, e := range r.Errors {
		line("error", "%s", e)
	}
	fmt.Fprintln(w, strings.Repeat("-", 72))
}

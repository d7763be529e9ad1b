package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/client"
)

// Config is one wishbench run.
type Config struct {
	WHIP, WHEP string // endpoint URLs, loopback only
	Token      string // bearer token for both, if the server wants one
	Viewers    int
	Stagger    time.Duration // between viewer joins
	Warmup     time.Duration // after the last join, before measuring
	Measure    time.Duration // the measurement window
	Synth      client.SynthConfig
	ServerPID  int           // 0: no server CPU/RSS figures
	FloorTime  time.Duration // per floor measurement; 0 skips the floors
	ViewerNACK bool          // viewers send NACKs like browsers do
	// Link, if set, also allows a peer on this veth interface's own subnet
	// (a server in another network namespace of this machine).
	Link string
	// Simulcast publishes three layers (simulcast.go); Layer, if set, is
	// the viewers' ?layer= (high: no adaptation; empty: auto).
	Simulcast bool
	Layer     string
	// AB, if above 0, cuts the window into 2*AB phases that alternate the
	// viewers between the top layer and auto (ab.go): what adaptation
	// costs, in the same run.
	AB  int
	Log *slog.Logger
}

// sentLog records what the publisher sent, for the delivered ratio.
type sentLog struct {
	mu      sync.Mutex
	frameAt []time.Time // by video frame id
	packets []time.Time // every RTP packet (video and audio), by send time
}

func (l *sentLog) add(s client.SynthSent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s.Kind == webrtc.RTPCodecTypeVideo {
		for uint64(len(l.frameAt)) < s.Frame {
			l.frameAt = append(l.frameAt, time.Time{})
		}
		l.frameAt = append(l.frameAt[:s.Frame], s.At)
	}
	for i := 0; i < s.Packets; i++ {
		l.packets = append(l.packets, s.At)
	}
}

func run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	for _, u := range []string{cfg.WHIP, cfg.WHEP} {
		if err := checkTarget(u, cfg.Link); err != nil {
			return nil, err
		}
	}
	if cfg.Viewers < 1 {
		return nil, errors.New("need at least one viewer")
	}
	if cfg.AB > 0 && (!cfg.Simulcast || cfg.Layer != "" || cfg.ServerPID <= 0) {
		return nil, errors.New("-ab needs -simulcast, auto viewers (no -layer) and -server-pid")
	}
	r := &Report{Target: cfg.WHEP, Viewers: cfg.Viewers}
	video := client.NewSynthVideo(cfg.Synth)
	eff := video.Config()
	r.Config.BitrateBps, r.Config.FPS, r.Config.GOPSeconds = eff.Bitrate, eff.FPS, eff.GOP.Seconds()
	r.Config.StaggerMS = float64(cfg.Stagger.Microseconds()) / 1000
	r.Config.WarmupS, r.Config.MeasureS = cfg.Warmup.Seconds(), cfg.Measure.Seconds()
	r.Config.ViewerNACK = cfg.ViewerNACK
	r.Config.Simulcast, r.Config.Layer = cfg.Simulcast, cfg.Layer
	var rids []string
	var layers []*client.SynthVideo
	if cfg.Simulcast {
		rids, layers = simulcastLayers(eff)
	}

	hc := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64},
		CheckRedirect: client.RedirectPolicy(cfg.Token)} // a full cluster node answers 307
	defer hc.CloseIdleConnections()

	// The publisher.
	pubCtx, cancelPub := context.WithTimeout(ctx, 15*time.Second)
	pub, err := client.Publish(pubCtx, cfg.WHIP, client.PublishOptions{Options: client.Options{
		Token: cfg.Token, HTTPClient: hc, AcceptWeakETag: true, ConfigureSettingEngine: onLink(cfg.Link)}, Simulcast: rids})
	if err == nil {
		err = pub.WaitConnected(pubCtx)
	}
	cancelPub()
	if err != nil {
		if pub != nil {
			_ = pub.Close()
		}
		return nil, fmt.Errorf("publisher: %w", err)
	}
	defer pub.Close()
	var sent sentLog
	paceCtx, stopPace := context.WithCancel(ctx)
	paceDone := make(chan struct{})
	go func() {
		defer close(paceDone)
		if cfg.Simulcast {
			paceSimulcast(paceCtx, pub, layers, client.NewSynthAudio(cfg.Synth), sent.add)
			return
		}
		client.PaceSynth(paceCtx, pub, video, client.NewSynthAudio(cfg.Synth), sent.add)
	}()
	defer func() { stopPace(); <-paceDone }()
	cfg.Log.Info("publishing", "whip", cfg.WHIP)

	// The floors, measured now: same machine, same run, the server already
	// ingesting.
	if cfg.FloorTime > 0 {
		f, err := measureFloors(ctx, cfg.FloorTime, cfg.Synth)
		if err != nil {
			r.Errors = append(r.Errors, err.Error())
		} else {
			r.Floor = &FloorReport{floors: f}
		}
	}
	if err := sleep(ctx, time.Second); err != nil { // let the stream settle
		return nil, err
	}
	var before procSample
	if cfg.ServerPID > 0 {
		if before, err = sampleProc(cfg.ServerPID); err != nil {
			return nil, fmt.Errorf("server pid: %w", err)
		}
	}

	// The viewers, one every Stagger.
	vn, err := newViewerNet(cfg.Link)
	if err != nil {
		return nil, err
	}
	viewers := make([]*viewer, cfg.Viewers)
	joinErr := make([]error, cfg.Viewers)
	var joins sync.WaitGroup
	start := time.Now()
	for i := range viewers {
		if err := sleepUntil(ctx, start.Add(time.Duration(i)*cfg.Stagger)); err != nil {
			break
		}
		v := &viewer{id: i, endpoint: withLayer(cfg.WHEP, cfg.Layer), token: cfg.Token, hc: hc,
			asm: client.SynthAssembler{MaxPayload: eff.MaxPayload}}
		viewers[i] = v
		joins.Add(1)
		go func() {
			defer joins.Done()
			jctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			defer cancel()
			joinErr[v.id] = v.join(jctx, vn)
		}()
	}
	joins.Wait()
	defer closeViewers(viewers)
	fbCtx, stopFeedback := context.WithCancel(ctx)
	fbDone := make(chan struct{})
	go func() {
		defer close(fbDone)
		feedbackLoop(fbCtx, viewers, cfg.ViewerNACK)
	}()
	defer func() { stopFeedback(); <-fbDone }()
	for i, err := range joinErr {
		if viewers[i] == nil {
			err = ctx.Err()
		}
		if err != nil {
			r.Failed++
			if len(r.Errors) < 5 {
				r.Errors = append(r.Errors, fmt.Sprintf("viewer %d: %v", i, err))
			}
		}
	}
	r.Joined = cfg.Viewers - r.Failed
	cfg.Log.Info("viewers joined", "joined", r.Joined, "failed", r.Failed, "took", time.Since(start).Round(time.Millisecond))
	if err := sleep(ctx, cfg.Warmup); err != nil {
		return nil, err
	}

	// The window.
	self := os.Getpid()
	toolA, _ := sampleProc(self)
	var srvA, srvB procSample
	if cfg.ServerPID > 0 {
		srvA, _ = sampleProc(cfg.ServerPID)
	}
	winStart := time.Now()
	if cfg.AB > 0 {
		var joined []*viewer
		for i, v := range viewers {
			if v != nil && joinErr[i] == nil {
				joined = append(joined, v)
			}
		}
		phase := cfg.Measure / time.Duration(2*cfg.AB)
		if r.AB, err = runAB(ctx, cfg, joined, r.Joined, &sent, rids[len(rids)-1], phase, time.Second); err != nil {
			return nil, err
		}
	} else if err := sleep(ctx, cfg.Measure); err != nil {
		return nil, err
	}
	winEnd := time.Now()
	toolB, _ := sampleProc(self)
	if cfg.ServerPID > 0 {
		if srvB, err = sampleProc(cfg.ServerPID); err != nil {
			return nil, fmt.Errorf("server pid: %w", err)
		}
	}
	// Frames sent in the last 300 ms may still be on their way.
	if err := sleep(ctx, 300*time.Millisecond); err != nil {
		return nil, err
	}
	r.ToolCores = cores(toolA, toolB)
	if cfg.ServerPID > 0 {
		c := cores(srvA, srvB)
		r.Server = &ServerUsage{
			PID: cfg.ServerPID, Cores: c, MillicoresPerViewer: 1000 * c / float64(max(1, r.Joined)),
			RSSBeforeMB: float64(before.rss) / 1e6, RSSMB: float64(srvB.rss) / 1e6,
			RSSPerViewerMB: float64(srvB.rss-before.rss) / 1e6 / float64(max(1, r.Joined)),
		}
	}
	summarise(r, &sent, viewers, joinErr, winStart, winEnd)
	return r, nil
}

// frameRange is the first and last video frame sent in [from, to); n is 0
// when none was.
func frameRange(sent *sentLog, from, to time.Time) (first, last uint64, n int) {
	sent.mu.Lock()
	defer sent.mu.Unlock()
	first = 1<<63 - 1
	for id, at := range sent.frameAt {
		if !at.IsZero() && !at.Before(from) && at.Before(to) {
			first, last = min(first, uint64(id)), max(last, uint64(id))
		}
	}
	if last >= first {
		n = int(last - first + 1)
	}
	return first, last, n
}

// deliveredRatio is the share of frames first..last (n of them) that v
// received whole.
func (v *viewer) deliveredRatio(first, last uint64, n int) float64 {
	if n == 0 {
		return 0
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	got := 0
	for id := first; id <= last; id++ {
		if id < uint64(len(v.frames)) && v.frames[id] {
			got++
		}
	}
	return float64(got) / float64(n)
}

// delivered is the mean and least share of the frames sent in [from, to)
// that the viewers received whole.
func delivered(sent *sentLog, viewers []*viewer, from, to time.Time) (mean, least float64) {
	first, last, n := frameRange(sent, from, to)
	least, k := 1, 0
	for _, v := range viewers {
		d := v.deliveredRatio(first, last, n)
		mean += d
		least = min(least, d)
		k++
	}
	if k == 0 {
		return 0, 0
	}
	return mean / float64(k), least
}

func summarise(r *Report, sent *sentLog, viewers []*viewer, joinErr []error, winStart, winEnd time.Time) {
	first, last, frames := frameRange(sent, winStart, winEnd)
	r.FramesSent = frames
	sent.mu.Lock()
	pkts := 0
	for _, at := range sent.packets {
		if !at.Before(winStart) && at.Before(winEnd) {
			pkts++
		}
	}
	sent.mu.Unlock()
	r.PacketRate = float64(pkts) / winEnd.Sub(winStart).Seconds()

	var joinRTP, joinKey, lat []float64
	r.DeliveredMin = 1
	n := 0
	for i, v := range viewers {
		if v == nil || joinErr[i] != nil {
			continue
		}
		v.mu.Lock()
		if !v.firstRTP.IsZero() {
			joinRTP = append(joinRTP, float64(v.firstRTP.Sub(v.postAt).Microseconds())/1000)
		}
		if !v.firstKey.IsZero() {
			joinKey = append(joinKey, float64(v.firstKey.Sub(v.postAt).Microseconds())/1000)
		} else {
			r.NoKeyframe++
		}
		for _, l := range v.latencies {
			if !l.sent.Before(winStart) && l.sent.Before(winEnd) {
				lat = append(lat, l.ms)
			}
		}
		r.BrokenFrames += v.broken
		v.mu.Unlock()
		ratio := v.deliveredRatio(first, last, frames)
		r.DeliveredMean += ratio
		r.DeliveredMin = min(r.DeliveredMin, ratio)
		if ratio < 0.999 {
			r.ViewersBelow999++
		}
		n++
	}
	if n > 0 {
		r.DeliveredMean /= float64(n)
	} else {
		r.DeliveredMin = 0
	}
	r.JoinFirstRTPMS, r.JoinFirstKeyframeMS, r.LatencyMS = quantiles(joinRTP), quantiles(joinKey), quantiles(lat)
	if f := r.Floor; f != nil {
		f.PionMillicoresPerViewer = f.PionWriteUS * r.PacketRate / 1000
		f.SRTPMillicoresPerViewer = f.SRTPSendtoUS * r.PacketRate / 1000
		if s := r.Server; s != nil && f.PionMillicoresPerViewer > 0 && f.SRTPMillicoresPerViewer > 0 {
			f.RatioToPion = s.MillicoresPerViewer / f.PionMillicoresPerViewer
			f.RatioToSRTP = s.MillicoresPerViewer / f.SRTPMillicoresPerViewer
		}
	}
}

// feedbackLoop sends every viewer's NACKs every 100 ms and its receiver
// report every second (lean.go), until ctx ends.
func feedbackLoop(ctx context.Context, viewers []*viewer, nack bool) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for tick := 1; ; tick++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, v := range viewers {
			if v != nil {
				_ = v.feedback(nack, tick%10 == 0)
			}
		}
	}
}

// closeViewers ends every session, several at a time, each bounded.
func closeViewers(viewers []*viewer) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	eachViewer(viewers, func(v *viewer) error { v.close(ctx); return nil })
}

// eachViewer runs f for every viewer, 32 at a time, and returns the first
// error.
func eachViewer(viewers []*viewer, f func(*viewer) error) error {
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for _, v := range viewers {
		if v == nil {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := f(v); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

func sleep(ctx context.Context, d time.Duration) error {
	return sleepUntil(ctx, time.Now().Add(d))
}

func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// whepFromWHIP derives the WHEP URL from a WHIP one (…/whip/NAME → …/whep/NAME).
func whepFromWHIP(whip string) string {
	if i := strings.LastIndex(whip, "/whip/"); i >= 0 {
		return whip[:i] + "/whep/" + whip[i+len("/whip/"):]
	}
	return ""
}

// withLayer adds ?layer= to a WHEP URL.
func withLayer(whep, layer string) string {
	if layer == "" {
		return whep
	}
	sep := "?"
	if strings.Contains(whep, "?") {
		sep = "&"
	}
	return whep + sep + "layer=" + url.QueryEscape(layer)
}

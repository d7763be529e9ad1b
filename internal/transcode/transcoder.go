package transcode

import (
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/wishgate/wishgate/internal/codec"
	"github.com/wishgate/wishgate/streams"
)

const (
	opusRate  = 48000
	opusFrame = 960 // 20 ms
	// maxAUsPerCall bounds one native call: 4 AUs of 8 kHz AAC-LC are
	// under 26 Opus frames, within maxPacketsPerCall.
	maxAUsPerCall     = 4
	maxPacketsPerCall = 32
	maxOpusPacket     = 1500
	maxFragment       = 8192
	// minReconfigure: in-band LATM configurations restart the native
	// pipeline at most this often.
	minReconfigure = time.Second
	// maxPCMBatch: PCM is handed over once 20 ms are there; a payload of
	// up to 100 ms (camera packets are 10-40 ms) fits at once.
	maxPCMFrames = 192000 / 10
)

// Stats are a Transcoder's counters, read atomically.
type Stats struct {
	In, Out     atomic.Uint64 // RTP packets in, Opus packets out
	Malformed   atomic.Uint64 // payloads that did not parse
	DecodeError atomic.Uint64 // access units the decoder refused
	Gaps        atomic.Uint64 // source gaps filled with silence
	Resets      atomic.Uint64 // jumps in the source timeline
}

// Transcoder converts one track. Convert runs on one goroutine; RTPTime,
// CPU and Stats may be read from others.
type Transcoder struct {
	src  source
	opts Options
	eng  engine
	log  *slog.Logger
	// logged: started by the Factory, which logged the start; Close logs
	// the end.
	logged bool
	ulaw   *[256]int16
	alaw   *[256]int16

	// timeline, in the source's RTP clock (extended to 64 bits)
	started  bool
	pos      int64  // timestamp of the next source sample expected
	srcBase  int64  // the first packet's
	outBase  uint32 // the output timestamp for srcBase (before the delay)
	next48   int64  // 48 kHz position (from srcBase) of the next Opus frame's first sample
	delay    int    // lookahead: output samples before the input they carry
	marker   bool
	clockRef atomic.Uint64 // src<<32 | out: RTPTime's reference pair

	// scratch, reused
	aus   []codec.AU
	latmA [][]byte
	latm  codec.LATMSplitter
	// in-band LATM configurations: when the last restarted the engine,
	// and whether a newer one waits for minReconfigure to pass
	cfgAt      time.Time
	cfgPending bool
	now        func() time.Time
	frag       fragment
	batch      []byte
	sizes      []int32
	pcm        []int16
	nPCM       int // frames buffered in pcm
	out        output

	cpu   atomic.Int64
	Stats Stats
}

type fragment struct {
	buf  [maxFragment]byte
	n    int
	want int
	ts   uint32
}

// New prepares a Transcoder for c; ErrUnsupported or ErrUnavailable say
// why it cannot.
func New(c streams.Codec, opts Options) (*Transcoder, error) {
	s, err := describe(c)
	if err != nil {
		return nil, err
	}
	if err := Available(); err != nil {
		return nil, err
	}
	t := &Transcoder{
		src: s, opts: opts, log: slog.Default(),
		aus:   make([]codec.AU, 0, 64),
		latmA: make([][]byte, 0, 64),
		batch: make([]byte, 0, maxAUsPerCall*maxFragment),
		sizes: make([]int32, 0, maxAUsPerCall),
		out:   newOutput(),
		now:   time.Now,
	}
	switch s.in {
	case inPCMU:
		t.ulaw = ulawTable()
	case inPCMA:
		t.alaw = alawTable()
	case inLATM:
		t.latm.InBand = s.inBand
		if !s.inBand {
			t.latm.SetConfig(s.latm)
		}
	}
	if s.in >= inPCMU {
		t.pcm = make([]int16, maxPCMFrames*s.channels)
	}
	if s.in == inLATM && s.inBand {
		return t, nil // the engine starts with the first in-band configuration
	}
	if err := t.startEngine(); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Transcoder) startEngine() error {
	bitrate := t.opts.BitrateStereo
	if t.src.outChannels() == 1 {
		bitrate = t.opts.BitrateMono
	}
	e, err := newEngine(engineConfig{
		aac: t.src.in == inAAC || t.src.in == inLATM, asc: t.src.asc,
		rate: t.src.rate, channels: t.src.channels, outChannels: t.src.outChannels(),
		bitrate: bitrate, complexity: t.opts.Complexity,
	})
	if err != nil {
		return fmt.Errorf("%s %d Hz %d ch: %w", t.src.name, t.src.rate, t.src.channels, err)
	}
	t.eng = e
	t.delay = e.lookahead()
	return nil
}

// Close releases the native state. The Transcoder is not used afterwards.
func (t *Transcoder) Close() {
	if t.logged {
		t.log.Info("audio transcoding stopped", "cpu", t.CPU().Round(time.Microsecond),
			"packets_in", t.Stats.In.Load(), "opus_packets", t.Stats.Out.Load(),
			"malformed", t.Stats.Malformed.Load(), "decode_errors", t.Stats.DecodeError.Load(),
			"gaps", t.Stats.Gaps.Load(), "resets", t.Stats.Resets.Load())
		t.logged = false
	}
	if t.eng != nil {
		t.eng.close()
		t.eng = nil
	}
}

// CPU is the processor time spent in the native pipeline so far.
func (t *Transcoder) CPU() time.Duration { return time.Duration(t.cpu.Load()) }

// RTPTime maps a source RTP timestamp to the Opus timestamp of the same
// instant, so the Opus track's sender reports carry the source's wall
// clock.
func (t *Transcoder) RTPTime(src uint32) (uint32, bool) {
	ref := t.clockRef.Load()
	if ref == 0 {
		return 0, false
	}
	srcRef, outRef := uint32(ref>>32), uint32(ref)
	d := int64(int32(src - srcRef))
	return outRef + uint32(d*opusRate/int64(t.src.clockRate)), true
}

// to48 converts a source-clock duration to 48 kHz samples.
func (t *Transcoder) to48(d int64) int64 { return d * opusRate / int64(t.src.clockRate) }

// Convert implements streams.Converter.
func (t *Transcoder) Convert(h *rtp.Header, payload []byte, emit func(ts uint32, payload []byte)) {
	t.Stats.In.Add(1)
	switch t.src.in {
	case inAAC:
		t.pushAAC(h, payload, emit)
	case inLATM:
		t.pushLATM(h, payload, emit)
	default:
		t.pushPCM(h, payload, emit)
	}
}

// align places a packet whose first sample has timestamp ts on the
// timeline: small jitter is ignored, a gap of up to a second becomes
// silence, anything else restarts the timeline there.
func (t *Transcoder) align(ts uint32, emit func(uint32, []byte)) {
	if !t.started {
		t.started = true
		t.pos, t.srcBase, t.outBase = int64(ts), int64(ts), ts
		t.next48, t.marker = 0, true
		t.publishClock()
		return
	}
	at := t.pos + int64(int32(ts-uint32(t.pos)))
	gap := at - t.pos
	tol := int64(t.src.clockRate) / 200 // 5 ms
	switch {
	case gap >= -tol && gap <= tol:
		return
	case gap > 0 && gap < int64(t.src.clockRate):
		t.flushPCM(emit)
		t.Stats.Gaps.Add(1)
		t.eng.silence(int(t.to48(gap)), &t.out)
		t.pos = at
		t.drain(emit)
	default:
		t.Stats.Resets.Add(1)
		t.nPCM = 0
		t.eng.reset()
		t.pos = at
		t.next48 = t.to48(at - t.srcBase)
		t.marker = true
	}
}

// advance moves the timeline past n source-clock ticks of input.
func (t *Transcoder) advance(n int64) {
	t.pos += n
	t.publishClock()
}

// publishClock records the output timestamp of the source's current
// position for RTPTime. It is the position's own 48 kHz image: the
// lookahead is taken out of the packets' timestamps (drain), so a sample
// decoded by a viewer carries the timestamp of the instant it was captured.
func (t *Transcoder) publishClock() {
	out := t.outBase + uint32(t.to48(t.pos-t.srcBase))
	t.clockRef.Store(uint64(uint32(t.pos))<<32 | uint64(out))
}

// drain emits what the last native call produced, with the timestamps
// of the timeline.
func (t *Transcoder) drain(emit func(uint32, []byte)) {
	o := &t.out
	t.cpu.Add(int64(o.cpu))
	if o.decodeErrors > 0 {
		t.Stats.DecodeError.Add(uint64(o.decodeErrors))
	}
	off := 0
	for i := range o.n {
		n := int(o.sizes[i])
		ts := t.outBase + uint32(t.next48) - uint32(t.delay)
		t.next48 += opusFrame
		emit(ts, o.buf[off:off+n])
		off += n
		t.Stats.Out.Add(1)
	}
	o.n, o.cpu, o.decodeErrors, o.dropped = 0, 0, 0, 0
}

// perAU is an access unit's duration in the RTP clock.
func (t *Transcoder) perAU() int64 {
	return int64(t.src.perUnit) * int64(t.src.clockRate) / int64(max(t.src.rate, 1))
}

func (t *Transcoder) pushAAC(h *rtp.Header, payload []byte, emit func(uint32, []byte)) {
	aus, err := t.src.layout.SplitAUs(payload, t.aus[:0])
	t.aus = aus[:0]
	if err != nil {
		t.Stats.Malformed.Add(1)
		return
	}
	if len(aus) == 1 && aus[0].Size > len(aus[0].Data) {
		au, ok := t.frag.add(h.Timestamp, aus[0])
		if !ok {
			return
		}
		aus = append(aus[:0], codec.AU{Data: au, Size: len(au)})
	} else {
		t.frag.n = 0
	}
	t.decodeAUs(h.Timestamp, aus, nil, emit)
}

func (t *Transcoder) pushLATM(h *rtp.Header, payload []byte, emit func(uint32, []byte)) {
	// An element split over packets (marker clear until its last part)
	// is reassembled first (RFC 6416 §4.1).
	elem := payload
	if !h.Marker || t.frag.n > 0 {
		if t.frag.n > 0 && t.frag.ts != h.Timestamp {
			t.frag.n = 0
		}
		if t.frag.n == 0 {
			t.frag.ts = h.Timestamp
		}
		if t.frag.n+len(payload) > len(t.frag.buf) {
			t.frag.n = 0
			t.Stats.Malformed.Add(1)
			return
		}
		t.frag.n += copy(t.frag.buf[t.frag.n:], payload)
		if !h.Marker {
			return
		}
		elem = t.frag.buf[:t.frag.n]
		t.frag.n = 0
	}
	aus, err := t.latm.Split(elem, t.latmA[:0])
	t.latmA = aus[:0]
	if err != nil {
		t.Stats.Malformed.Add(1)
		return
	}
	if cfg, ok, changed := t.latm.Config(); ok && (changed || t.eng == nil || t.cfgPending) {
		// Starting the decoder and encoder costs about 150 µs: a publisher
		// changing its configuration on every packet (or sending one the
		// decoder refuses) gets one start a second, its other packets
		// dropped.
		now := t.now()
		if !t.cfgAt.IsZero() && now.Sub(t.cfgAt) < minReconfigure {
			t.cfgPending = true
			t.Stats.Malformed.Add(1)
			return
		}
		t.cfgPending, t.cfgAt = false, now
		if err := t.reconfigure(cfg); err != nil {
			t.Stats.Malformed.Add(1)
			return
		}
	}
	if t.eng == nil {
		return
	}
	t.decodeAUs(h.Timestamp, nil, aus, emit)
}

// reconfigure starts the engine for an in-band LATM configuration (a new
// one restarts it and the timeline).
func (t *Transcoder) reconfigure(c codec.LATMConfig) error {
	if t.eng != nil {
		t.eng.close()
		t.eng = nil
		t.started = false
	}
	t.src.asc = append(t.src.asc[:0], c.ASC...)
	ch := t.src.outChannels()
	t.src.setAAC(c.AAC, t.src.channels)
	if t.src.channels == 1 && ch == 2 {
		t.src.channels = 2 // the Opus track was announced stereo: keep it
	}
	err := t.startEngine()
	if err != nil {
		t.log.Warn("in-band AAC configuration refused", "error", err)
	}
	return err
}

// decodeAUs hands the access units (from aus or raw) to the native side,
// maxAUsPerCall at a time.
func (t *Transcoder) decodeAUs(ts uint32, aus []codec.AU, raw [][]byte, emit func(uint32, []byte)) {
	n := max(len(aus), len(raw))
	if n == 0 {
		return
	}
	t.align(ts, emit)
	for i := 0; i < n; {
		t.batch, t.sizes = t.batch[:0], t.sizes[:0]
		for ; i < n && len(t.sizes) < maxAUsPerCall; i++ {
			var au []byte
			if aus != nil {
				au = aus[i].Data
			} else {
				au = raw[i]
			}
			t.batch = append(t.batch, au...)
			t.sizes = append(t.sizes, int32(len(au)))
			t.advance(t.perAU())
		}
		t.eng.decode(t.batch, t.sizes, &t.out)
		t.drain(emit)
	}
}

// add collects a fragmented AU; it returns the whole AU once complete.
func (f *fragment) add(ts uint32, au codec.AU) ([]byte, bool) {
	if f.n > 0 && (f.ts != ts || f.want != au.Size) {
		f.n = 0 // a fragment went missing: drop the partial AU
	}
	if au.Size > len(f.buf) || f.n+len(au.Data) > au.Size {
		f.n = 0
		return nil, false
	}
	if f.n == 0 {
		f.ts, f.want = ts, au.Size
	}
	f.n += copy(f.buf[f.n:], au.Data)
	if f.n < f.want {
		return nil, false
	}
	f.n = 0
	return f.buf[:f.want], true
}

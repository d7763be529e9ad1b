package streams

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// batchRec is a BatchSink recording what went through its batches. The
// batch itself only counts: WriteRTPBatch records at once, so a test sees
// which writes a pass collected before each Flush.
type batchRec struct {
	*recSink
	key     *batchGroup
	batches atomic.Int64 // NewBatch calls
	passMax atomic.Int64
	flushes atomic.Int64
	dropAt  atomic.Int64 // the sequence number to refuse once with ErrDropped
}

// batchGroup is the key of sinks sharing batches.
type batchGroup struct{}

// countBatch counts each sink's writes in the pass it collects.
type countBatch struct {
	mu     sync.Mutex
	counts map[*batchRec]int64
}

func (b *countBatch) Flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for o, n := range b.counts {
		o.flushes.Add(1)
		for old := o.passMax.Load(); n > old && !o.passMax.CompareAndSwap(old, n); old = o.passMax.Load() {
		}
	}
	clear(b.counts)
}

func (b *countBatch) Room(int) bool { return true }

func (s *batchRec) NonBlocking() bool { return true }
func (s *batchRec) BatchKey() any     { return s.key }
func (s *batchRec) NewBatch() Batch {
	s.batches.Add(1)
	return &countBatch{counts: map[*batchRec]int64{}}
}

func (s *batchRec) WriteRTPBatch(b Batch, i int, h *rtp.Header, payload []byte) error {
	if d := s.dropAt.Load(); d != 0 && int64(h.SequenceNumber) == d && s.dropAt.CompareAndSwap(d, 0) {
		return ErrDropped
	}
	cb := b.(*countBatch)
	cb.mu.Lock()
	cb.counts[s]++
	cb.mu.Unlock()
	return s.recSink.WriteRTP(i, h, payload)
}

// Direct subscribers whose sinks share a batch key are written through one
// batch per worker, flushed once per pass: a picture sent back to back
// (its last packet marked) reaches each viewer in one pass.
func TestDirectWritesGoThroughBatches(t *testing.T) {
	r, pub, _ := setup(t, DefaultConfig())
	writePkt(pub, 0, 0, idr)
	s, tracks, _ := r.Lookup("s")
	key := &batchGroup{}
	const viewers = 3
	recs := make([]*batchRec, viewers)
	for i := range recs {
		recs[i] = &batchRec{recSink: newRecSink(), key: key}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	for _, rec := range recs {
		sub, err := r.Subscribe(s, SubscribeOptions{Tracks: tracks})
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		wg.Add(1)
		go func() { defer wg.Done(); _ = sub.Run(ctx, rec) }()
		waitFor(t, sub.direct.Load)
	}
	// Marked pictures of 5 packets: the workers learn the marker, then
	// wait for each picture's end before their pass.
	seq := uint16(0)
	for f := 1; f <= 20; f++ {
		for k := 0; k < 5; k++ {
			seq++
			p := NewPacket()
			p.Header = rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(f * 3000), PayloadType: 96, Marker: k == 4}
			p.SetPayload(pframe)
			pub.Write(0, p, time.Now()) // back to back, as from the ingest
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, rec := range recs {
		rec.wait(t, 1+100)
	}
	for i, rec := range recs {
		rec.mu.Lock()
		for k, sq := range rec.seqs {
			if sq != uint16(k) {
				rec.mu.Unlock()
				t.Fatalf("viewer %d: packet %d has sequence number %d", i, k, sq)
			}
		}
		rec.mu.Unlock()
		if rec.passMax.Load() < 5 {
			t.Fatalf("viewer %d: at most %d packets in one pass, want a whole picture (5)", i, rec.passMax.Load())
		}
	}
	total := int64(0)
	for _, rec := range recs {
		total += rec.batches.Load()
	}
	// One batch per worker for the shared key, not one per viewer.
	if total < 1 || int(total) > len(*s.tracks[0].fan.running.Load()) {
		t.Fatalf("%d batches made for %d workers", total, len(*s.tracks[0].fan.running.Load()))
	}
}

// A sink that drops a packet (streams.ErrDropped: its own queue is full)
// is resynchronised like a queue overflow: it skips to the next keyframe,
// asks for one, and its numbering closes over the dropped packet.
func TestSinkDropResumesAtKeyframe(t *testing.T) {
	r, pub, fp := setup(t, DefaultConfig())
	writePkt(pub, 0, 0, idr)
	s, tracks, _ := r.Lookup("s")
	key := &batchGroup{}
	rec := &batchRec{recSink: newRecSink(), key: key}
	sub, err := r.Subscribe(s, SubscribeOptions{Tracks: tracks})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = sub.Run(ctx, rec) }()
	defer func() { cancel(); <-done }()
	waitFor(t, sub.direct.Load)
	asked := fp.keyframes.Load()
	rec.dropAt.Store(3)
	for i := uint16(1); i <= 6; i++ {
		writePkt(pub, i, uint32(i)*3000, pframe)
	}
	waitFor(t, func() bool { return fp.keyframes.Load() > asked })
	writePkt(pub, 7, 21000, idr)
	writePkt(pub, 8, 24000, pframe)
	rec.wait(t, 5) // 0, 1, 2, then the IDR and 8
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if want := []uint16{0, 1, 2, 3, 4}; len(rec.seqs) != 5 || rec.seqs[3] != want[3] || rec.seqs[4] != want[4] || rec.pls[3][0] != idr[0] {
		t.Fatalf("delivered %v (first bytes of the 4th: %x), want %v with the IDR 4th", rec.seqs, rec.pls[3][0], want)
	}
	if d := sub.Dropped.Load(); d != 1 {
		t.Fatalf("Dropped = %d, want 1", d)
	}
}

// roomBatch holds at most roomCap packets, like the media socket's batch
// (rtc.Batch), which must send when a write does not fit. Its Flush checks
// that the worker holds the lock of none of the viewers whose packets it
// sends, so a send never waits with a viewer's lock held.
type roomBatch struct {
	n       int
	subs    []*Subscription // whose packets are waiting
	refused *atomic.Int64   // Room said no to a batch holding packets
	locked  *atomic.Int64   // Flush found a waiting viewer's lock held
	over    *atomic.Int64   // a write that Room had not allowed
}

const roomCap = 8

func (b *roomBatch) Room(n int) bool {
	ok := b.n+n <= roomCap
	if !ok && b.n > 0 {
		b.refused.Add(1)
	}
	return ok
}

func (b *roomBatch) Flush() {
	for _, s := range b.subs {
		for i := range s.tracks {
			if !s.tracks[i].mu.TryLock() {
				b.locked.Add(1)
				continue
			}
			s.tracks[i].mu.Unlock()
		}
	}
	b.n, b.subs = 0, b.subs[:0]
}

type roomSink struct {
	*recSink
	sub                   *Subscription
	refused, locked, over atomic.Int64
}

func (s *roomSink) NonBlocking() bool { return true }
func (s *roomSink) BatchKey() any     { return batchGroup{} }
func (s *roomSink) NewBatch() Batch {
	return &roomBatch{refused: &s.refused, locked: &s.locked, over: &s.over}
}

func (s *roomSink) WriteRTPBatch(b Batch, i int, h *rtp.Header, payload []byte) error {
	rb := b.(*roomBatch)
	rb.subs = append(rb.subs, s.sub)
	if rb.n == roomCap {
		// What rtc.Batch does with a write beyond its room: send first.
		rb.over.Add(1)
		rb.Flush()
		rb.subs = append(rb.subs, s.sub)
	}
	rb.n++
	return s.recSink.WriteRTP(i, h, payload)
}

// A fan-out worker flushes its batch before a viewer's share of a pass
// that would not fit, never from inside a write under the viewer's lock
// (the only lock a worker takes): with 5-packet pictures, batches of 8 and
// several viewers per worker, every pass needs more than one send, and no
// send finds a waiting viewer's lock held or a write beyond the room.
func TestBatchFlushedOutsideViewerLock(t *testing.T) {
	r, pub, _ := setup(t, DefaultConfig())
	writePkt(pub, 0, 0, idr)
	s, tracks, _ := r.Lookup("s")
	viewers := 2 * max(1, runtime.GOMAXPROCS(0)) // at least two per worker
	sinks := make([]*roomSink, viewers)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	for k := range sinks {
		sub, err := r.Subscribe(s, SubscribeOptions{Tracks: tracks})
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		rs := &roomSink{recSink: newRecSink(), sub: sub}
		sinks[k] = rs
		wg.Add(1)
		go func() { defer wg.Done(); _ = sub.Run(ctx, rs) }()
		waitFor(t, sub.direct.Load)
	}
	seq := uint16(0)
	const pictures = 20
	for f := 1; f <= pictures; f++ {
		for k := 0; k < 5; k++ {
			seq++
			p := NewPacket()
			p.Header = rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(f * 3000), PayloadType: 96, Marker: k == 4}
			p.SetPayload(pframe)
			pub.Write(0, p, time.Now())
		}
		time.Sleep(5 * time.Millisecond) // the publisher's frame interval
	}
	refused := int64(0)
	for k, rs := range sinks {
		rs.wait(t, 1+5*pictures)
		rs.mu.Lock()
		for j, sq := range rs.seqs {
			if sq != uint16(j) {
				rs.mu.Unlock()
				t.Fatalf("viewer %d: packet %d has sequence number %d", k, j, sq)
			}
		}
		rs.mu.Unlock()
		if n := rs.locked.Load(); n != 0 {
			t.Fatalf("viewer %d: %d sends with a waiting viewer's lock held", k, n)
		}
		if n := rs.over.Load(); n != 0 {
			t.Fatalf("viewer %d: %d writes beyond the batch's room", k, n)
		}
		refused += rs.refused.Load()
	}
	if refused == 0 {
		t.Fatal("no pass needed a second send: the test exercised nothing")
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/wishgate/wishgate/internal/client"
)

// The physical floors: what one forwarded packet costs at the least, measured
// on this machine in the same run. The sending thread writes each packet of
// the synthetic stream (same sizes, same rate: one second of it is replayed
// in real time) to each of R receivers in turn, as a fan-out does; each
// receiver is read by its own goroutine, so, as with real viewers, the
// receivers sleep between packets and every send has to wake one. The cost
// is the sending thread's CPU time (getrusage RUSAGE_THREAD: a receiver's
// own work is not counted, the kernel's wake-up of it is) divided by the
// packets sent. A tight loop to one busy receiver costs about half as much,
// which no fan-out to real viewers achieves.
//
//   - pion: TrackLocalStaticRTP.WriteRTP on connected PeerConnections with
//     no interceptors: header marshal, SRTP as negotiated (AES-GCM between
//     pion peers), one write to the socket. A gateway built on pion cannot
//     go below it per viewer.
//   - srtp: AES-128-GCM SRTP encryption (pion/srtp) and one sendto on a
//     loopback UDP socket, no WebRTC stack at all.

// floors is the per-packet cost of each, in microseconds.
type floors struct {
	PionWriteUS  float64 `json:"pion_write_us_per_packet"`
	SRTPSendtoUS float64 `json:"srtp_gcm_sendto_us_per_packet"`
	Receivers    int     `json:"receivers"`
	Packets      int     `json:"packets"`
}

// floorReceivers is R: enough that receivers sleep between packets.
const floorReceivers = 16

const rusageThread = 1 // RUSAGE_THREAD (Linux)

func threadCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// packetSizes returns the payload sizes of one second of the synthetic
// stream, in sending order.
func packetSizes(cfg client.SynthConfig) []int {
	v, a := client.NewSynthVideo(cfg), client.NewSynthAudio(cfg)
	var sizes []int
	now := time.Now()
	fps := v.Config().FPS
	audio := 0
	for f := 0; f < fps; f++ {
		for _, p := range v.Next(now) {
			sizes = append(sizes, len(p.Payload))
		}
		for ; audio < (f+1)*50/fps; audio++ {
			sizes = append(sizes, len(a.Next(now).Payload))
		}
	}
	return sizes
}

// measurePaced replays sizes (one second of the stream) in real time for d,
// on one locked OS thread, calling send(r, size) for each packet and each of
// receivers; it returns the thread's CPU time per send and the send count.
// With rounds > 0 it sends that many rounds back to back instead (the Go
// benchmarks: b.N rounds, no pacing).
func measurePaced(ctx context.Context, d time.Duration, rounds, receivers int, sizes []int, send func(r, size int) error) (time.Duration, int, error) {
	type result struct {
		per time.Duration
		n   int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		begin := time.Now()
		startCPU, err := threadCPU()
		if err != nil {
			ch <- result{err: err}
			return
		}
		gap := time.Second / time.Duration(len(sizes))
		n := 0
		for k := 0; ; k++ {
			if rounds > 0 {
				if k >= rounds {
					break
				}
			} else {
				due := begin.Add(time.Duration(k) * gap)
				if due.Sub(begin) >= d || ctx.Err() != nil {
					break
				}
				if wait := time.Until(due); wait > 0 {
					time.Sleep(wait)
				}
			}
			for r := 0; r < receivers; r++ {
				if err := send(r, sizes[k%len(sizes)]); err != nil {
					ch <- result{err: err}
					return
				}
				n++
			}
		}
		endCPU, err := threadCPU()
		if n == 0 {
			err = errors.New("no packet sent")
		}
		ch <- result{per: (endCPU - startCPU) / time.Duration(max(1, n)), n: n, err: err}
	}()
	r := <-ch
	return r.per, r.n, r.err
}

// srtpFloor measures AES-128-GCM SRTP encryption plus one sendto per packet.
func srtpFloor(ctx context.Context, d time.Duration, rounds int, sizes []int) (time.Duration, int, error) {
	key := make([]byte, 16)
	salt := make([]byte, 12)
	sctx, err := srtp.CreateContext(key, salt, srtp.ProtectionProfileAeadAes128Gcm)
	if err != nil {
		return 0, 0, err
	}
	tx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return 0, 0, err
	}
	defer tx.Close()
	var to []*net.UDPAddr
	var wg sync.WaitGroup
	defer wg.Wait()
	for r := 0; r < floorReceivers; r++ {
		rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return 0, 0, err
		}
		defer rx.Close()
		to = append(to, rx.LocalAddr().(*net.UDPAddr))
		wg.Add(1)
		go func() { // a peer reading, on another thread
			defer wg.Done()
			buf := make([]byte, 2048)
			for {
				if _, err := rx.Read(buf); err != nil {
					return
				}
			}
		}()
	}
	payload := make([]byte, 1500)
	plain := make([]byte, 0, 1500)
	out := make([]byte, 0, 1600)
	h := rtp.Header{Version: 2, PayloadType: 102, SSRC: 1}
	i := 0
	return measurePaced(ctx, d, rounds, floorReceivers, sizes, func(r, size int) error {
		i++
		h.SequenceNumber = uint16(i)
		h.Timestamp = uint32(i * 300)
		hl, err := h.MarshalTo(plain[:cap(plain)])
		if err != nil {
			return err
		}
		plain = append(plain[:hl], payload[:size]...)
		out, err = sctx.EncryptRTP(out[:0], plain, &h)
		if err != nil {
			return err
		}
		_, err = tx.WriteToUDP(out, to[r])
		return err
	})
}

// pionFloor measures TrackLocalStaticRTP.WriteRTP on real loopback
// PeerConnection pairs without interceptors, one pair per receiver.
func pionFloor(ctx context.Context, d time.Duration, rounds int, sizes []int) (time.Duration, int, error) {
	api := func() (*webrtc.API, error) {
		me := &webrtc.MediaEngine{}
		if err := me.RegisterCodec(client.CodecH264.Params(), webrtc.RTPCodecTypeVideo); err != nil {
			return nil, err
		}
		return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(*client.LoopbackSettingEngine(nil)),
			webrtc.WithInterceptorRegistry(&interceptor.Registry{})), nil
	}
	sapi, err := api()
	if err != nil {
		return 0, 0, err
	}
	rapi, err := api()
	if err != nil {
		return 0, 0, err
	}
	var tracks []*webrtc.TrackLocalStaticRTP
	for r := 0; r < floorReceivers; r++ {
		t, closePair, err := pionPair(ctx, sapi, rapi)
		if err != nil {
			return 0, 0, err
		}
		defer closePair()
		tracks = append(tracks, t)
	}
	payload := make([]byte, 1500)
	var pkt rtp.Packet
	pkt.Header = rtp.Header{Version: 2, PayloadType: 102}
	seq := make([]uint16, floorReceivers)
	return measurePaced(ctx, d, rounds, floorReceivers, sizes, func(r, size int) error {
		seq[r]++
		pkt.SequenceNumber = seq[r]
		pkt.Timestamp = uint32(seq[r]) * 300
		pkt.Payload = payload[:size]
		return tracks[r].WriteRTP(&pkt)
	})
}

// pionPair connects a sender and a reading receiver and waits for media.
func pionPair(ctx context.Context, sapi, rapi *webrtc.API) (*webrtc.TrackLocalStaticRTP, func(), error) {
	snd, err := sapi.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, nil, err
	}
	rcv, err := rapi.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		_ = snd.Close()
		return nil, nil, err
	}
	closePair := func() { _ = snd.Close(); _ = rcv.Close() }
	track, err := webrtc.NewTrackLocalStaticRTP(client.CodecH264.Params().RTPCodecCapability, "video", "floor")
	if err == nil {
		_, err = snd.AddTrack(track)
	}
	if err != nil {
		closePair()
		return nil, nil, err
	}
	arrived := make(chan struct{})
	var once sync.Once
	rcv.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		once.Do(func() { close(arrived) })
		buf := make([]byte, 1500)
		for {
			if _, _, err := t.Read(buf); err != nil {
				return
			}
		}
	})
	if err := signalPair(ctx, snd, rcv); err != nil {
		closePair()
		return nil, nil, err
	}
	// The track binds when SRTP is up, a moment after "connected"; until
	// then writes are dropped. Send until the receiver sees media.
	var pkt rtp.Packet
	pkt.Header = rtp.Header{Version: 2, PayloadType: 102}
	pkt.Payload = make([]byte, 100)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		_ = track.WriteRTP(&pkt)
		pkt.SequenceNumber++
		select {
		case <-arrived:
			return track, closePair, nil
		case <-tick.C:
		case <-ctx.Done():
			closePair()
			return nil, nil, fmt.Errorf("pion floor: no media: %w", ctx.Err())
		}
	}
}

// signalPair connects two in-process PeerConnections (offer from a).
func signalPair(ctx context.Context, a, b *webrtc.PeerConnection) error {
	offer, err := a.CreateOffer(nil)
	if err != nil {
		return err
	}
	ga := webrtc.GatheringCompletePromise(a)
	if err := a.SetLocalDescription(offer); err != nil {
		return err
	}
	<-ga
	if err := b.SetRemoteDescription(*a.LocalDescription()); err != nil {
		return err
	}
	answer, err := b.CreateAnswer(nil)
	if err != nil {
		return err
	}
	gb := webrtc.GatheringCompletePromise(b)
	if err := b.SetLocalDescription(answer); err != nil {
		return err
	}
	<-gb
	if err := a.SetRemoteDescription(*b.LocalDescription()); err != nil {
		return err
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for a.ConnectionState() != webrtc.PeerConnectionStateConnected {
		select {
		case <-ctx.Done():
			return fmt.Errorf("floor peers: %w", ctx.Err())
		case <-tick.C:
		}
		if a.ConnectionState() == webrtc.PeerConnectionStateFailed {
			return errors.New("floor peers: connection failed")
		}
	}
	return nil
}

// measureFloors measures both floors, each for d.
func measureFloors(ctx context.Context, d time.Duration, cfg client.SynthConfig) (floors, error) {
	sizes := packetSizes(cfg)
	f := floors{Receivers: floorReceivers}
	per, n, err := pionFloor(ctx, d, 0, sizes)
	if err != nil {
		return f, fmt.Errorf("pion floor: %w", err)
	}
	f.PionWriteUS = float64(per.Nanoseconds()) / 1000
	f.Packets = n
	per, _, err = srtpFloor(ctx, d, 0, sizes)
	if err != nil {
		return f, fmt.Errorf("srtp floor: %w", err)
	}
	f.SRTPSendtoUS = float64(per.Nanoseconds()) / 1000
	return f, nil
}

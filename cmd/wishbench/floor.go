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
// on this machine in the same run. Each is the CPU time of the sending thread
// (getrusage RUSAGE_THREAD, so a receiver on another thread is not counted)
// divided by the packets sent, for the same mix of packet sizes the
// publisher sends (synthetic H.264 fragments and Opus packets).
//
//   - pion: TrackLocalStaticRTP.WriteRTP on a connected PeerConnection with
//     no interceptors: header marshal, SRTP as negotiated, one write to the
//     socket. A gateway built on pion cannot go below it per viewer.
//   - srtp: AES-128-GCM SRTP encryption (pion/srtp) and one sendto on a
//     loopback UDP socket, no WebRTC stack at all.

// floors is the per-packet cost of each, in microseconds.
type floors struct {
	PionWriteUS  float64 `json:"pion_write_us_per_packet"`
	SRTPSendtoUS float64 `json:"srtp_gcm_sendto_us_per_packet"`
}

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

// measureThread runs fn(i) n times on one locked OS thread and returns the
// thread's CPU time per call.
func measureThread(n int, fn func(i int) error) (time.Duration, error) {
	type result struct {
		d   time.Duration
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		start, err := threadCPU()
		if err != nil {
			ch <- result{err: err}
			return
		}
		for i := 0; i < n; i++ {
			if err := fn(i); err != nil {
				ch <- result{err: err}
				return
			}
		}
		end, err := threadCPU()
		ch <- result{d: (end - start) / time.Duration(n), err: err}
	}()
	r := <-ch
	return r.d, r.err
}

// srtpFloor measures AES-128-GCM SRTP encryption plus one sendto per packet.
func srtpFloor(n int, sizes []int) (time.Duration, error) {
	key := make([]byte, 16)
	salt := make([]byte, 12)
	ctx, err := srtp.CreateContext(key, salt, srtp.ProtectionProfileAeadAes128Gcm)
	if err != nil {
		return 0, err
	}
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return 0, err
	}
	defer rx.Close()
	go func() { // drain on another thread, as a peer would
		buf := make([]byte, 2048)
		for {
			if _, err := rx.Read(buf); err != nil {
				return
			}
		}
	}()
	tx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return 0, err
	}
	defer tx.Close()
	to := rx.LocalAddr().(*net.UDPAddr)
	payload := make([]byte, 1500)
	plain := make([]byte, 0, 1500)
	out := make([]byte, 0, 1600)
	h := rtp.Header{Version: 2, PayloadType: 102, SSRC: 1}
	return measureThread(n, func(i int) error {
		h.SequenceNumber = uint16(i)
		h.Timestamp = uint32(i * 300)
		hl, err := h.MarshalTo(plain[:cap(plain)])
		if err != nil {
			return err
		}
		plain = append(plain[:hl], payload[:sizes[i%len(sizes)]]...)
		out, err = ctx.EncryptRTP(out[:0], plain, &h)
		if err != nil {
			return err
		}
		_, err = tx.WriteToUDP(out, to)
		return err
	})
}

// pionFloor measures TrackLocalStaticRTP.WriteRTP on a real loopback
// PeerConnection pair without interceptors.
func pionFloor(ctx context.Context, n int, sizes []int) (time.Duration, error) {
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
		return 0, err
	}
	rapi, err := api()
	if err != nil {
		return 0, err
	}
	snd, err := sapi.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return 0, err
	}
	defer snd.Close()
	rcv, err := rapi.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return 0, err
	}
	defer rcv.Close()
	track, err := webrtc.NewTrackLocalStaticRTP(client.CodecH264.Params().RTPCodecCapability, "video", "floor")
	if err != nil {
		return 0, err
	}
	if _, err := snd.AddTrack(track); err != nil {
		return 0, err
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
		return 0, err
	}
	payload := make([]byte, 1500)
	var pkt rtp.Packet
	pkt.Header = rtp.Header{Version: 2, PayloadType: 102}
	// The track binds when SRTP is up, a moment after "connected"; until
	// then writes are dropped. Send until the receiver sees media.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for seq := uint16(0); ; seq++ {
		pkt.SequenceNumber = seq
		pkt.Payload = payload[:100]
		_ = track.WriteRTP(&pkt)
		select {
		case <-arrived:
		case <-tick.C:
			continue
		case <-ctx.Done():
			return 0, fmt.Errorf("pion floor: no media: %w", ctx.Err())
		}
		break
	}
	return measureThread(n, func(i int) error {
		pkt.SequenceNumber = uint16(i)
		pkt.Timestamp = uint32(i * 300)
		pkt.Payload = payload[:sizes[i%len(sizes)]]
		return track.WriteRTP(&pkt)
	})
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

// measureFloors measures both floors with n packets each.
func measureFloors(ctx context.Context, n int, cfg client.SynthConfig) (floors, error) {
	sizes := packetSizes(cfg)
	var f floors
	d, err := pionFloor(ctx, n, sizes)
	if err != nil {
		return f, fmt.Errorf("pion floor: %w", err)
	}
	f.PionWriteUS = float64(d.Nanoseconds()) / 1000
	d, err = srtpFloor(n, sizes)
	if err != nil {
		return f, fmt.Errorf("srtp floor: %w", err)
	}
	f.SRTPSendtoUS = float64(d.Nanoseconds()) / 1000
	return f, nil
}

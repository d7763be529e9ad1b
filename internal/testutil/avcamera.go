package testutil

import (
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtpmpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/pion/rtp"
)

// AVCameraConfig describes what an AV test camera sends.
type AVCameraConfig struct {
	// AAC is an ADTS file under testdata/audio (e.g. "tone-1k-48k-stereo.aac"),
	// looped; empty: no audio.
	AAC string
	// LATM sends it as MP4A-LATM (RFC 6416, cpresent=0) instead of
	// mpeg4-generic (RFC 3640, AAC-hbr).
	LATM bool
	// NoVideo leaves out the H.264 track (testdata/rtsp/testsrc-baseline.h264,
	// 25 fps, looped).
	NoVideo bool
}

// Camera timestamps: the first video and audio packets carry these, and
// both tracks start at AVCamera.Epoch, so a timestamp's capture instant is
// Epoch + (ts - base) / clock rate on either track.
const (
	CameraVideoBase = 1_000_000
	CameraAudioBase = 5_000_000
)

// AVCamera is an RTSP camera in the test (a gortsplib server on loopback)
// sending real H.264 and real AAC in real time, each packet at its media's
// capture instant: video frame k at Epoch + k×40 ms, AAC access unit j at
// Epoch + j×1024 samples. An ideal camera, whose tracks are in sync by
// construction: what the gateway does to lip sync can then be measured.
type AVCamera struct {
	URL   string
	Epoch time.Time

	srv    *gortsplib.Server
	stream *gortsplib.ServerStream
	served atomic.Pointer[gortsplib.ServerStream] // stream, for the handler once it is ready
	video  *description.Media
	audio  *description.Media
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

// StartAVCamera starts a camera; t.Cleanup stops it.
func StartAVCamera(t testing.TB, cfg AVCameraConfig) *AVCamera {
	t.Helper()
	c := &AVCamera{stop: make(chan struct{}), done: make(chan struct{})}
	var medias []*description.Media
	var frames [][][]byte
	if !cfg.NoVideo {
		frames = h264Frames(t)
		c.video = &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{&format.H264{
			PayloadTyp: 96, SPS: frames[0][0], PPS: frames[0][1], PacketizationMode: 1,
		}}}
		medias = append(medias, c.video)
	}
	var aus [][]byte
	var asc mpeg4audio.AudioSpecificConfig
	if cfg.AAC != "" {
		aus, asc = readADTS(t, filepath.Join(RepoRoot(t), "testdata", "audio", cfg.AAC))
		var f format.Format = &format.MPEG4Audio{PayloadTyp: 97, SizeLength: 13, IndexLength: 3, IndexDeltaLength: 3, Config: &asc}
		if cfg.LATM {
			f = &format.MPEG4AudioLATM{PayloadTyp: 97, ProfileLevelID: 1, StreamMuxConfig: &mpeg4audio.StreamMuxConfig{
				Programs: []*mpeg4audio.StreamMuxConfigProgram{{Layers: []*mpeg4audio.StreamMuxConfigLayer{{
					AudioSpecificConfig: &asc, LatmBufferFullness: 255,
				}}}},
			}}
		}
		c.audio = &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{f}}
		medias = append(medias, c.audio)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	c.srv = &gortsplib.Server{Handler: cameraHandler{&c.served}, RTSPAddress: addr,
		Listen: func(string, string) (net.Listener, error) { return ln, nil }}
	if err := c.srv.Start(); err != nil {
		t.Fatal(err)
	}
	c.stream = &gortsplib.ServerStream{Server: c.srv, Desc: &description.Session{Medias: medias}}
	if err := c.stream.Initialize(); err != nil {
		c.srv.Close()
		t.Fatal(err)
	}
	c.served.Store(c.stream)
	c.URL = "rtsp://" + addr + "/camera"
	c.Epoch = time.Now().Add(100 * time.Millisecond)
	go c.feed(frames, aus, asc.SampleRate, cfg.LATM)
	t.Cleanup(c.Close)
	return c
}

// Close stops the camera and its server. Idempotent.
func (c *AVCamera) Close() {
	c.once.Do(func() {
		close(c.stop)
		<-c.done
		c.stream.Close()
		c.srv.Close()
		_ = c.srv.Wait()
	})
}

// feed writes every packet at its capture instant, until Close.
func (c *AVCamera) feed(frames [][][]byte, aus [][]byte, rate int, latm bool) {
	defer close(c.done)
	venc := &rtph264.Encoder{PayloadType: 96, PayloadMaxSize: 1400, PacketizationMode: 1}
	_ = venc.Init()
	aenc := &rtpmpeg4audio.Encoder{PayloadType: 97, SizeLength: 13, IndexLength: 3, IndexDeltaLength: 3}
	_ = aenc.Init()
	var aseq uint16
	timer := time.NewTimer(0)
	defer timer.Stop()
	for k, j := 0, 0; ; {
		vAt := c.Epoch.Add(time.Duration(k) * 40 * time.Millisecond)
		aAt := time.Time{}
		if len(aus) > 0 {
			aAt = c.Epoch.Add(time.Duration(int64(j) * 1024 * int64(time.Second) / int64(rate)))
		}
		sendVideo := len(frames) > 0 && (aAt.IsZero() || !vAt.After(aAt))
		at := aAt
		if sendVideo {
			at = vAt
		}
		timer.Reset(time.Until(at))
		select {
		case <-c.stop:
			return
		case <-timer.C:
		}
		if sendVideo {
			pkts, err := venc.Encode(frames[k%len(frames)])
			if err == nil {
				for _, p := range pkts {
					p.Timestamp = CameraVideoBase + uint32(k)*3600
					_ = c.stream.WritePacketRTP(c.video, p)
				}
			}
			k++
			continue
		}
		au := aus[j%len(aus)]
		ts := CameraAudioBase + uint32(j)*1024
		if latm {
			// One AudioMuxElement (cpresent=0): PayloadLengthInfo, payload.
			var el []byte
			for n := len(au); ; n -= 255 {
				if n < 255 {
					el = append(el, byte(n))
					break
				}
				el = append(el, 255)
			}
			aseq++
			_ = c.stream.WritePacketRTP(c.audio, &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 97,
				SequenceNumber: aseq, Timestamp: ts, Marker: true}, Payload: append(el, au...)})
		} else if pkts, err := aenc.Encode([][]byte{au}); err == nil {
			for _, p := range pkts {
				p.Timestamp = ts
				_ = c.stream.WritePacketRTP(c.audio, p)
			}
		}
		j++
	}
}

// h264Frames reads testdata/rtsp/testsrc-baseline.h264 into access units
// (SPS and PPS lead the first).
func h264Frames(t testing.TB) [][][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(RepoRoot(t), "testdata", "rtsp", "testsrc-baseline.h264"))
	if err != nil {
		t.Fatal(err)
	}
	frames := AccessUnits(AnnexBNALs(b))
	if len(frames) < 10 || len(frames[0]) < 3 {
		t.Fatalf("testsrc-baseline.h264: %d frames", len(frames))
	}
	return frames
}

// readADTS returns an ADTS file's access units and configuration.
func readADTS(t testing.TB, path string) ([][]byte, mpeg4audio.AudioSpecificConfig) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pkts mpeg4audio.ADTSPackets
	if err := pkts.Unmarshal(b); err != nil || len(pkts) == 0 {
		t.Fatalf("%s: %v", path, err)
	}
	aus := make([][]byte, len(pkts))
	for i, p := range pkts {
		aus[i] = p.AU
	}
	return aus, mpeg4audio.AudioSpecificConfig{Type: pkts[0].Type, SampleRate: pkts[0].SampleRate, ChannelCount: pkts[0].ChannelCount}
}

// RepoRoot is the repository's root directory (where go.mod is), found
// from the test's working directory (its package's directory).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		dir = filepath.Dir(dir)
	}
	t.Fatal("go.mod not found above the working directory")
	return ""
}

// ADTSUnits is the number of access units in an ADTS file of testdata/audio.
func ADTSUnits(t testing.TB, name string) int {
	t.Helper()
	aus, _ := readADTS(t, filepath.Join(RepoRoot(t), "testdata", "audio", name))
	return len(aus)
}

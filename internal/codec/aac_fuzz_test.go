package codec

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzAudioSpecificConfig: no configuration (raw, or as fmtp config= hex)
// makes the parser panic, and what it accepts is self-consistent.
func FuzzAudioSpecificConfig(f *testing.F) {
	for _, s := range []string{"118856E500", "1210", "1408", "2B118800", "EB098800", "1214", "1200", "B8", "F8F0"} {
		f.Add(mustHex(f, s))
	}
	f.Add([]byte{0x12, 0x00, 0x05, 0x80, 0xff, 0xff}) // channel configuration 0: a PCE follows
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseAudioSpecificConfig(b)
		if err == nil {
			if c.SampleRate <= 0 || c.SampleRate > 96000 || c.OutputRate <= 0 || c.Channels < 0 || c.Channels > 8 {
				t.Fatalf("accepted %+v from % x", c, b)
			}
			if n := c.SamplesPerAU(); n != 480 && n != 512 && n != 960 && n != 1024 && n != 1920 && n != 2048 {
				t.Fatalf("%d samples per AU from % x", n, b)
			}
		}
		fmtp := "mode=AAC-hbr;config=" + hexString(b)
		if got, err := ParseFmtpConfig(fmtp); err == nil && !bytes.Equal(got, b) {
			t.Fatalf("fmtp round trip: % x -> % x", b, got)
		}
	})
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// FuzzAUHeaders: any payload under any AU-header layout splits into AUs
// that lie inside the payload, or fails with ErrAUHeader; never a panic.
func FuzzAUHeaders(f *testing.F) {
	layouts := []string{
		"mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3",
		"mode=AAC-lbr",
		"mode=generic;sizelength=16;ctsdeltalength=16;dtsdeltalength=16;randomaccessindication=1;streamstateindication=3",
		"mode=generic;constantsize=7",
		"mode=AAC-hbr;auxiliarydatasizelength=8",
		"mode=generic",
	}
	for i := range layouts {
		f.Add(uint8(i), []byte{0x00, 0x20, 0x00, 0x18, 0x00, 0x10, 1, 2, 3, 4, 5})
		f.Add(uint8(i), []byte{0x00, 0x10, 0x00, 0x50, 9, 9, 9, 9})
		f.Add(uint8(i), []byte{0xff, 0xff})
	}
	f.Fuzz(func(t *testing.T, which uint8, payload []byte) {
		l, err := ParseAULayout(layouts[int(which)%len(layouts)])
		if err != nil {
			t.Fatal(err)
		}
		orig := bytes.Clone(payload)
		aus, err := l.SplitAUs(payload, make([]AU, 0, 16))
		if !bytes.Equal(orig, payload) {
			t.Fatal("payload modified")
		}
		if err != nil {
			return
		}
		total := 0
		for _, au := range aus {
			if len(au.Data) == 0 || au.Size < len(au.Data) {
				t.Fatalf("AU %+v", au)
			}
			total += len(au.Data)
		}
		if total > len(payload) {
			t.Fatalf("%d AU bytes from a %d-byte payload", total, len(payload))
		}
	})
}

// FuzzLATM: StreamMuxConfigs and AudioMuxElements, out of band and in
// band, never panic, and every AU is within bounds.
func FuzzLATM(f *testing.F) {
	f.Add([]byte{0x40, 0x00, 0x24, 0x20, 0x3f, 0xc0}, []byte{3, 1, 2, 3}, false)
	f.Add([]byte{0x40, 0x00, 0x24, 0x20, 0x3f, 0xc0}, []byte{0x20, 0x00, 0x12, 0x10, 0x1f, 0xe0, 0x18, 0x88}, true)
	f.Add([]byte{0x80, 0x00, 0x00, 0x00}, []byte{255, 1, 0}, true)
	f.Fuzz(func(t *testing.T, smc, elem []byte, inBand bool) {
		s := LATMSplitter{InBand: inBand}
		if c, err := ParseStreamMuxConfig(smc); err == nil {
			if len(c.ASC) == 0 {
				t.Fatal("config without an AudioSpecificConfig")
			}
			s.SetConfig(c)
		}
		aus, err := s.Split(elem, make([][]byte, 0, 16))
		if err != nil {
			return
		}
		for _, au := range aus {
			if len(au) == 0 || len(au) > maxLATMPayload {
				t.Fatalf("AU of %d bytes", len(au))
			}
		}
		if c, ok, _ := s.Config(); ok && len(c.ASC) == 0 {
			t.Fatal("in-band config without an AudioSpecificConfig")
		}
	})
}

// FuzzAACFmtp: any fmtp line of an AAC track (RFC 3640 mode and AU-header
// lengths, config= as an AudioSpecificConfig or a LATM StreamMuxConfig)
// parses or fails with ErrAACConfig, never panics, and a layout it accepts
// splits any payload into AUs inside it.
func FuzzAACFmtp(f *testing.F) {
	f.Add("streamtype=5;profile-level-id=15;mode=AAC-hbr;config=1190;sizelength=13;indexlength=3;indexdeltalength=3", []byte{0x00, 0x10, 0x00, 0x20, 1, 2, 3, 4})
	f.Add("profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config=1210", []byte{0x00, 0x10, 0x00, 0x08, 7})
	f.Add("mode=generic;constantsize=4;config=2B118800", []byte{1, 2, 3, 4, 5, 6, 7, 8})
	f.Add("mode=AAC-lbr;config=1408;sizelength=70", []byte{0xff})
	f.Add("profile-level-id=30;cpresent=0;object=2;config=400024203fc0", []byte{3, 1, 2, 3})
	f.Add("config=zz;sizelength=-1;indexlength=99999999999999999999", []byte{})
	f.Fuzz(func(t *testing.T, fmtp string, payload []byte) {
		if l, err := ParseAULayout(fmtp); err == nil {
			aus, err := l.SplitAUs(payload, make([]AU, 0, 16))
			if err == nil {
				total := 0
				for _, au := range aus {
					if len(au.Data) == 0 || au.Size < len(au.Data) {
						t.Fatalf("AU %+v from layout %+v", au, l)
					}
					total += len(au.Data)
				}
				if total > len(payload) {
					t.Fatalf("%d AU bytes from a %d-byte payload", total, len(payload))
				}
			}
		} else if !errors.Is(err, ErrAACConfig) {
			t.Fatalf("layout error %v is not ErrAACConfig", err)
		}
		b, err := ParseFmtpConfig(fmtp)
		if err != nil {
			if !errors.Is(err, ErrAACConfig) {
				t.Fatalf("config error %v is not ErrAACConfig", err)
			}
			return
		}
		if len(b) > maxASCBytes {
			t.Fatalf("config of %d bytes accepted", len(b))
		}
		if _, err := ParseAudioSpecificConfig(b); err != nil && !errors.Is(err, ErrAACConfig) {
			t.Fatalf("AudioSpecificConfig error %v is not ErrAACConfig", err)
		}
		if _, err := ParseStreamMuxConfig(b); err != nil && !errors.Is(err, ErrAACConfig) {
			t.Fatalf("StreamMuxConfig error %v is not ErrAACConfig", err)
		}
	})
}

package codec

import (
	"encoding/hex"
	"errors"
	"fmt"
)

// MPEG-4 audio object types (ISO/IEC 14496-3 §1.5.1.1) the parsers know.
const (
	AACMain = 1
	AACLC   = 2
	AACLTP  = 4
	AACSBR  = 5 // HE-AAC: spectral band replication on an AAC-LC core
	AACLD   = 23
	AACPS   = 29 // HE-AAC v2: parametric stereo on top of SBR
	AACELD  = 39
)

// ErrAACConfig reports an AudioSpecificConfig, a StreamMuxConfig or an fmtp
// configuration that cannot be used.
var ErrAACConfig = errors.New("invalid AAC configuration")

// maxASCBytes bounds an AudioSpecificConfig from an SDP: real ones are 2 to
// 7 bytes (a program config element makes them longer, never near this).
const maxASCBytes = 256

// sampleRates are the rates of samplingFrequencyIndex 0-12 (§1.6.3.4).
var sampleRates = [...]int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}

// AACConfig is what an AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1) says
// about a stream: enough to configure a decoder's output and a timeline.
type AACConfig struct {
	// ObjectType is the core's audio object type (AACLC for HE-AAC).
	ObjectType int
	// SampleRate is the core sampling rate.
	SampleRate int
	// Channels is the channel configuration's channel count; 0 when the
	// channels are described by a program config element.
	Channels int
	// SBR and PS are set for HE-AAC (v2) signalled explicitly; OutputRate is
	// then the SBR rate (twice the core's), otherwise SampleRate.
	SBR, PS    bool
	OutputRate int
	// FrameLength is the number of core samples per access unit: 1024 or
	// 960 for AAC, 512 or 480 for the low-delay types.
	FrameLength int
}

// SamplesPerAU is the number of output samples one access unit decodes to.
func (c AACConfig) SamplesPerAU() int {
	if c.SBR {
		return 2 * c.FrameLength
	}
	return c.FrameLength
}

func (c AACConfig) String() string {
	name := map[int]string{AACMain: "AAC Main", AACLC: "AAC-LC", AACLTP: "AAC-LTP", AACLD: "AAC-LD", AACELD: "AAC-ELD"}[c.ObjectType]
	switch {
	case c.PS:
		name = "HE-AAC v2"
	case c.SBR:
		name = "HE-AAC"
	}
	return fmt.Sprintf("%s %d Hz %d ch", name, c.OutputRate, c.Channels)
}

// ParseAudioSpecificConfig reads an AudioSpecificConfig. Only the object
// types a decoder for camera audio handles are accepted (Main, LC, LTP,
// HE-AAC v1/v2, LD, ELD); others are ErrAACConfig with their number.
func ParseAudioSpecificConfig(b []byte) (AACConfig, error) {
	if len(b) == 0 || len(b) > maxASCBytes {
		return AACConfig{}, fmt.Errorf("%w: AudioSpecificConfig of %d bytes", ErrAACConfig, len(b))
	}
	r := &bitReader{b: b}
	c, err := readASC(r)
	if err != nil {
		return AACConfig{}, err
	}
	return c, nil
}

// readASC reads an AudioSpecificConfig at r's position (it is not byte
// aligned inside a LATM StreamMuxConfig).
func readASC(r *bitReader) (AACConfig, error) {
	var c AACConfig
	aot := objectType(r)
	rate := samplingFrequency(r)
	chans := int(r.u(4))
	if aot == AACSBR || aot == AACPS {
		c.SBR, c.PS = true, aot == AACPS
		c.OutputRate = samplingFrequency(r)
		aot = objectType(r)
		if aot == 22 { // ER BSAC: extensionChannelConfiguration
			r.skip(4)
		}
	}
	if r.err != nil {
		return AACConfig{}, fmt.Errorf("%w: AudioSpecificConfig truncated", ErrAACConfig)
	}
	c.ObjectType, c.SampleRate = aot, rate
	if rate <= 0 || rate > 96000 {
		return AACConfig{}, fmt.Errorf("%w: sampling rate %d", ErrAACConfig, rate)
	}
	if chans > 7 {
		return AACConfig{}, fmt.Errorf("%w: channel configuration %d is reserved", ErrAACConfig, chans)
	}
	c.Channels = [...]int{0, 1, 2, 3, 4, 5, 6, 8}[chans]
	switch aot {
	case AACMain, AACLC, AACLTP, AACLD:
		long := 1024
		if aot == AACLD {
			long = 512
		}
		c.FrameLength = long
		if r.flag() { // frameLengthFlag
			c.FrameLength = long * 15 / 16
		}
		if r.flag() { // dependsOnCoreCoder
			r.skip(14)
		}
		extension := r.flag()
		if chans == 0 && !skipPCE(r) {
			return AACConfig{}, fmt.Errorf("%w: program config element truncated", ErrAACConfig)
		}
		if extension && aot == AACLD {
			r.skip(3) // the three resilience flags
			r.skip(1) // extensionFlag3
		}
		if aot == AACLD && r.err == nil {
			if ep := r.u(2); ep == 2 || ep == 3 {
				return AACConfig{}, fmt.Errorf("%w: error protection configuration %d", ErrAACConfig, ep)
			}
		}
	case AACELD:
		c.FrameLength = 512
		if r.flag() {
			c.FrameLength = 480
		}
		// The rest (resilience flags, LD-SBR, extensions) is left to the
		// decoder, which receives the whole configuration.
	default:
		return AACConfig{}, fmt.Errorf("%w: audio object type %d is not supported (AAC Main, LC, LTP, HE-AAC, LD, ELD are)", ErrAACConfig, aot)
	}
	if r.err != nil {
		return AACConfig{}, fmt.Errorf("%w: AudioSpecificConfig truncated", ErrAACConfig)
	}
	if c.SBR {
		if c.OutputRate <= 0 || c.OutputRate > 96000 {
			return AACConfig{}, fmt.Errorf("%w: SBR rate %d", ErrAACConfig, c.OutputRate)
		}
		if c.OutputRate == c.SampleRate {
			// Downsampled SBR: the output keeps the core rate.
			c.SBR = false
		}
	} else {
		c.OutputRate = rate
	}
	if c.PS && c.Channels == 1 {
		c.Channels = 2 // parametric stereo decodes a mono core to stereo
	}
	return c, nil
}

func objectType(r *bitReader) int {
	t := int(r.u(5))
	if t == 31 {
		t = 32 + int(r.u(6))
	}
	return t
}

func samplingFrequency(r *bitReader) int {
	i := r.u(4)
	switch {
	case i == 0xF:
		return int(r.u(24))
	case int(i) < len(sampleRates):
		return sampleRates[i]
	}
	return -1
}

// skipPCE walks a program_config_element (§4.4.1.1) to its end and reports
// whether it was complete.
func skipPCE(r *bitReader) bool {
	r.skip(4 + 2 + 4) // element_instance_tag, object_type, sampling_frequency_index
	front, side, back := int(r.u(4)), int(r.u(4)), int(r.u(4))
	lfe, assoc, cc := int(r.u(2)), int(r.u(3)), int(r.u(4))
	if r.flag() { // mono_mixdown_present
		r.skip(4)
	}
	if r.flag() { // stereo_mixdown_present
		r.skip(4)
	}
	if r.flag() { // matrix_mixdown_idx_present
		r.skip(3)
	}
	r.skip((front+side+back)*5 + lfe*4 + assoc*4 + cc*5)
	r.align()
	r.skip(int(r.u(8)) * 8) // comment_field_bytes
	return r.err == nil
}

// maxHexConfig bounds the hex text of an fmtp config= value parsed here.
const maxHexConfig = 2 * maxASCBytes

// ParseFmtpConfig decodes the hex `config=` value of an mpeg4-generic
// (RFC 3640 §4.1: an AudioSpecificConfig) or MP4A-LATM (RFC 6416 §7.1: a
// StreamMuxConfig) fmtp line.
func ParseFmtpConfig(fmtp string) ([]byte, error) {
	v := FmtpParam(fmtp, "config")
	if v == "" {
		return nil, fmt.Errorf("%w: the fmtp has no config=", ErrAACConfig)
	}
	if len(v) > maxHexConfig {
		return nil, fmt.Errorf("%w: config= of %d hex digits", ErrAACConfig, len(v))
	}
	b, err := hex.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("%w: config=%q is not hex", ErrAACConfig, v)
	}
	return b, nil
}

//go:build !cgo || !transcode

package transcode

// OpusDecoder is unavailable in a build without the transcoder.
type OpusDecoder struct{ channels int }

// NewOpusDecoder reports that this build has no Opus decoder.
func NewOpusDecoder(int) (*OpusDecoder, error) { return nil, Available() }

// Decode is never reached: NewOpusDecoder fails.
func (*OpusDecoder) Decode([]byte, []int16) (int, error) { return 0, Available() }

// Close does nothing.
func (*OpusDecoder) Close() {}

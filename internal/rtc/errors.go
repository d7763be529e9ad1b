package rtc

import (
	"errors"
	"fmt"
)

// ErrMalformed wraps every reason an SDP or sdpfrag body cannot be parsed (400).
var ErrMalformed = errors.New("malformed SDP")

// ErrUnsupported wraps offers that parse but cannot be served: no common
// codec, too many tracks, wrong direction (422).
var ErrUnsupported = errors.New("unsupported offer")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsupported, fmt.Sprintf(format, args...))
}

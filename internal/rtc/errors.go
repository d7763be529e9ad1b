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

// ErrNegotiationTimeout: the answer could not be made before the offer's
// deadline (candidate gathering, a machine too busy): not the client's
// fault, so 503 with Retry-After rather than an error it could fix.
var ErrNegotiationTimeout = errors.New("the negotiation did not finish in time")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsupported, fmt.Sprintf(format, args...))
}

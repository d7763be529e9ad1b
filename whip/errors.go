package whip

import (
	"fmt"

	"github.com/wishgate/wishgate/internal/rtc"
)

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %s", rtc.ErrUnsupported, fmt.Sprintf(format, args...))
}

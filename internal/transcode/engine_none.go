//go:build !cgo || !transcode

package transcode

import "fmt"

// Available reports why this build cannot transcode (builtWithout).
func Available() error {
	return fmt.Errorf("%w (%s): %s", ErrUnavailable, builtWithout, HowToEnable)
}

// Versions is empty: no native libraries are linked.
func Versions() string { return "" }

func newEngine(engineConfig) (engine, error) { return nil, Available() }

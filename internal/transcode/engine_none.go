//go:build !cgo || notranscode

package transcode

import "fmt"

// Available reports why this build cannot transcode: it was built without
// cgo (CGO_ENABLED=0, or no C compiler found) or with the notranscode tag.
func Available() error {
	return fmt.Errorf("%w (built without cgo): %s", ErrUnavailable, HowToEnable)
}

// Versions is empty: no native libraries are linked.
func Versions() string { return "" }

func newEngine(engineConfig) (engine, error) { return nil, Available() }

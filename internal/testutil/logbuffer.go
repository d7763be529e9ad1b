package testutil

import (
	"bytes"
	"os"
	"strings"
	"sync"
)

// LogBuffer collects what a gateway logs, for tests that assert on it (a
// warning logged once, no secret ever). It is safe for concurrent writers,
// and also writes to stderr when WISHGATE_TEST_LOG=1.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if os.Getenv("WISHGATE_TEST_LOG") == "1" {
		os.Stderr.Write(p)
	}
	return l.buf.Write(p)
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Count returns how many times s occurs in the log.
func (l *LogBuffer) Count(s string) int { return strings.Count(l.String(), s) }

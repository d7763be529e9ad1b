// Package e2e starts the real gateway in-process on 127.0.0.1 and drives it
// with real HTTP clients and pion peers.
package e2e

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func golden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "sdp", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type resp struct {
	Status int
	Header http.Header
	Body   string
}

func do(t *testing.T, method, url, ctype string, body []byte, hdr ...string) resp {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	// No keep-alive: an idle connection's goroutines outliving the test
	// would be reported by goleak, or ended by the gateway's shutdown
	// while the next request is sent on it.
	req.Close = true
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return resp{Status: r.StatusCode, Header: r.Header, Body: string(b)}
}

package tlscert_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wishgate/wishgate/internal/testutil"
	"github.com/wishgate/wishgate/internal/tlscert"
)

func TestReloadsChangedFiles(t *testing.T) {
	ca := testutil.NewCA(t)
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	ca.Issue(t, cert, key, "first", time.Now().Add(time.Hour))
	lb := &testutil.LogBuffer{}
	r, err := tlscert.New(cert, key, slog.New(slog.NewTextHandler(lb, nil)))
	if err != nil {
		t.Fatal(err)
	}
	cn := func(at time.Time) string { return r.Certificate(at).Leaf.Subject.CommonName }
	now := time.Now()
	if got := cn(now); got != "first" {
		t.Fatalf("serving %q, want first", got)
	}

	ca.Issue(t, cert, key, "second", time.Now().Add(time.Hour))
	if got := cn(now.Add(tlscert.CheckEvery / 2)); got != "first" {
		t.Fatalf("files looked at again within %v (serving %q)", tlscert.CheckEvery, got)
	}
	if got := cn(now.Add(2 * tlscert.CheckEvery)); got != "second" {
		t.Fatalf("after the files changed serving %q, want second", got)
	}

	// Half written (key of another certificate): the previous pair stays,
	// and the refusal is logged once, not per handshake.
	other := filepath.Join(dir, "other")
	ca.Issue(t, other+".pem", other+".key", "third", time.Now().Add(time.Hour))
	b, _ := os.ReadFile(other + ".pem")
	if err := os.WriteFile(cert, b, 0o600); err != nil {
		t.Fatal(err)
	}
	for i := 3; i < 6; i++ {
		if got := cn(now.Add(time.Duration(i) * tlscert.CheckEvery)); got != "second" {
			t.Fatalf("a mismatched pair replaced the certificate (serving %q)", got)
		}
	}
	if n := strings.Count(lb.String(), "new TLS certificate not loaded"); n != 1 {
		t.Fatalf("refusal logged %d times, want once:\n%s", n, lb.String())
	}
	// The matching key arrives: now it loads.
	kb, _ := os.ReadFile(other + ".key")
	if err := os.WriteFile(key, kb, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := cn(now.Add(7 * tlscert.CheckEvery)); got != "third" {
		t.Fatalf("serving %q once the pair matched, want third", got)
	}

	// An expired replacement is refused.
	ca.Issue(t, cert, key, "expired", time.Now().Add(-time.Minute))
	if got := cn(now.Add(9 * tlscert.CheckEvery)); got != "third" {
		t.Fatalf("an expired certificate replaced the current one (serving %q)", got)
	}
}

func TestNewNamesTheFile(t *testing.T) {
	_, err := tlscert.New("/nonexistent/cert.pem", "/nonexistent/key.pem", slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "tls_cert") || !strings.Contains(err.Error(), "/nonexistent/cert.pem") {
		t.Fatalf("error %v does not name tls_cert and the file", err)
	}
}

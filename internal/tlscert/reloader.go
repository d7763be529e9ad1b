// Package tlscert serves a certificate and key from PEM files and picks up
// new ones when the files change (certbot, cert-manager and acme.sh replace
// them in place or swap a symlink), without a restart and without dropping
// a connection.
package tlscert

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// CheckEvery bounds how often the files are looked at: at most once a
// second, on a handshake, so an idle server does no work at all.
const CheckEvery = time.Second

// Reloader hands out the certificate in CertFile/KeyFile. Safe for
// concurrent use.
type Reloader struct {
	certFile, keyFile string
	log               *slog.Logger

	cert atomic.Pointer[tls.Certificate]

	mu      sync.Mutex
	checked time.Time
	stamp   fileStamp // of the pair last loaded, or last refused
}

type fileStamp struct {
	certMod, keyMod   time.Time
	certSize, keySize int64
}

// New loads the pair once; an unreadable or mismatched pair is an error
// naming the files.
func New(certFile, keyFile string, log *slog.Logger) (*Reloader, error) {
	r := &Reloader{certFile: certFile, keyFile: keyFile, log: log}
	st, err := r.stat()
	if err != nil {
		return nil, err
	}
	c, err := r.load()
	if err != nil {
		return nil, err
	}
	r.cert.Store(c)
	r.stamp, r.checked = st, time.Now()
	return r, nil
}

// Config is a TLS configuration serving the current certificate, for
// HTTP/2 and HTTP/1.1.
func (r *Reloader) Config() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return r.Certificate(time.Now()), nil },
	}
}

// Certificate returns the certificate to present at now, first loading the
// files again if they changed since they were last looked at (at most once
// per CheckEvery). A pair that does not load (half written, key and
// certificate not matching yet) is logged once and the previous one kept.
func (r *Reloader) Certificate(now time.Time) *tls.Certificate {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Sub(r.checked) < CheckEvery {
		return r.cert.Load()
	}
	r.checked = now
	st, err := r.stat()
	if err != nil || st == r.stamp {
		return r.cert.Load()
	}
	r.stamp = st
	c, err := r.load()
	if err != nil {
		r.log.Warn("new TLS certificate not loaded, still serving the previous one", "tls_cert", r.certFile, "tls_key", r.keyFile, "error", err.Error())
		return r.cert.Load()
	}
	r.cert.Store(c)
	r.log.Info("TLS certificate reloaded", "tls_cert", r.certFile, "subject", c.Leaf.Subject.String(),
		"not_after", c.Leaf.NotAfter.UTC().Format(time.RFC3339))
	return c
}

func (r *Reloader) stat() (fileStamp, error) {
	c, err := os.Stat(r.certFile)
	if err != nil {
		return fileStamp{}, fmt.Errorf("tls_cert %q: %w", r.certFile, err)
	}
	k, err := os.Stat(r.keyFile)
	if err != nil {
		return fileStamp{}, fmt.Errorf("tls_key %q: %w", r.keyFile, err)
	}
	return fileStamp{certMod: c.ModTime(), keyMod: k.ModTime(), certSize: c.Size(), keySize: k.Size()}, nil
}

func (r *Reloader) load() (*tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls_cert %q / tls_key %q: %w", r.certFile, r.keyFile, err)
	}
	if c.Leaf == nil {
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return nil, fmt.Errorf("tls_cert %q: %w", r.certFile, err)
		}
	}
	if time.Now().After(c.Leaf.NotAfter) {
		return nil, fmt.Errorf("tls_cert %q: %w (not after %s)", r.certFile, errExpired, c.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return &c, nil
}

var errExpired = errors.New("certificate expired")

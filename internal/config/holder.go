package config

import "sync/atomic"

// Holder is the current Config, replaced as a whole by hot reload. The
// components that may change live read it per request through small
// accessors the app gives them; nothing reads a global.
type Holder struct {
	p atomic.Pointer[Config]
}

// NewHolder starts with c.
func NewHolder(c Config) *Holder {
	h := &Holder{}
	h.Store(c)
	return h
}

// Load returns the current Config; treat it as read-only.
func (h *Holder) Load() *Config { return h.p.Load() }

// Store makes c current.
func (h *Holder) Store(c Config) { h.p.Store(&c) }

package cluster

// Acquire implements bridge.Arbiter: this node may pull the camera name
// unless another node holds its lease. Without Redis every node that
// declares the camera pulls it; the stream leases sort the publishers out
// when Redis returns.
func (n *Node) Acquire(name string) bool {
	if !n.st.up.Load() {
		return true
	}
	res, err := n.st.run(n.ctx, sourceScript, []string{keySource + name}, n.cfg.NodeID, ms(n.cfg.LeaseTTL))
	if err != nil {
		return true
	}
	if res != int64(1) {
		return false
	}
	n.mu.Lock()
	n.sources[name] = true
	n.mu.Unlock()
	return true
}

// Release implements bridge.Arbiter: the camera is not pulled here now.
func (n *Node) Release(name string) {
	n.mu.Lock()
	held := n.sources[name]
	delete(n.sources, name)
	n.mu.Unlock()
	if held {
		_, _ = n.st.run(n.ctx, sourceReleaseScript, []string{keySource + name}, n.cfg.NodeID)
	}
}

// Elsewhere is the error a camera that another node pulls gives a reader.
func (n *Node) Elsewhere() error { return ErrElsewhere }

// renewSources extends the camera leases this node holds.
func (n *Node) renewSources() {
	n.mu.Lock()
	names := make([]string, 0, len(n.sources))
	for name := range n.sources {
		names = append(names, name)
	}
	n.mu.Unlock()
	for _, name := range names {
		res, err := n.st.run(n.ctx, sourceScript, []string{keySource + name}, n.cfg.NodeID, ms(n.cfg.LeaseTTL))
		if err == nil && res != int64(1) {
			n.log.Warn("another node holds the camera's lease now", "stream", name)
			n.mu.Lock()
			delete(n.sources, name)
			n.mu.Unlock()
		}
	}
}

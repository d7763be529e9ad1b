package cluster

import (
	"runtime"
	"sync"
	"syscall"
	"time"
)

// cpuMeter measures the process's CPU use as a percentage of the machine
// (all cores), from getrusage between two samples.
type cpuMeter struct {
	mu      sync.Mutex
	lastCPU time.Duration
	lastAt  time.Time
	percent float64
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (m *cpuMeter) sample() {
	now, cpu := time.Now(), processCPU()
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.lastAt.IsZero() {
		if wall := now.Sub(m.lastAt); wall > 0 {
			m.percent = 100 * float64(cpu-m.lastCPU) / (float64(wall) * float64(runtime.NumCPU()))
		}
	}
	m.lastCPU, m.lastAt = cpu, now
}

// Percent is the share of the machine's CPU used between the last samples.
func (m *cpuMeter) Percent() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.percent
}

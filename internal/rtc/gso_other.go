//go:build !linux

package rtc

import "net"

const (
	maxGSOSegments = 1
	maxGSOBytes    = 0
	msgDontWait    = 0
)

var gsoOOBLen = 0

func putGSO([]byte, int)             {}
func gsoSupported(*net.UDPConn) bool { return false }
func gsoRefused(error) bool          { return false }

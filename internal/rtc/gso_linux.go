package rtc

import (
	"encoding/binary"
	"errors"
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// UDP generic segmentation offload (Linux ≥ 4.18, udp(7) UDP_SEGMENT): one
// sendmsg carries up to maxGSOSegments datagrams of one size (the last may
// be shorter) to one destination, and the kernel cuts them below the UDP
// layer, so the stack is traversed once per message instead of once per
// datagram.
const (
	maxGSOSegments = 64    // UDP_MAX_SEGMENTS
	maxGSOBytes    = 60000 // below the 65507-byte UDP payload limit
)

// gsoOOBLen is the size of one UDP_SEGMENT control message.
var gsoOOBLen = unix.CmsgSpace(2)

// putGSO writes a UDP_SEGMENT control message for segments of size bytes.
func putGSO(oob []byte, size int) {
	h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
	h.Level = unix.SOL_UDP
	h.Type = unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(oob[unix.CmsgLen(0):], uint16(size))
}

// gsoSupported reports whether the kernel knows UDP_SEGMENT on conn.
func gsoSupported(conn *net.UDPConn) bool {
	rc, err := conn.SyscallConn()
	if err != nil {
		return false
	}
	ok := false
	_ = rc.Control(func(fd uintptr) {
		_, err := unix.GetsockoptInt(int(fd), unix.SOL_UDP, unix.UDP_SEGMENT)
		ok = err == nil
	})
	return ok
}

// gsoRefused: the route's device cannot segment (no checksum offload),
// which the kernel reports as EIO for a segmented send.
func gsoRefused(err error) bool { return errors.Is(err, syscall.EIO) }

const msgDontWait = unix.MSG_DONTWAIT

//go:build !cgo

package transcode

// builtWithout: cgo was off (CGO_ENABLED=0, or no C compiler found).
const builtWithout = "built without cgo"

//go:build cgo && !transcode

package transcode

// builtWithout: cgo was on but the transcode build tag was not given (the
// default of `go build` and `go run`, which need no C library).
const builtWithout = "built without the transcode build tag"

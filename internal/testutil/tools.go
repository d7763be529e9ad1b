// Package testutil holds helpers shared by the project's tests.
package testutil

import (
	"os"
	"os/exec"
	"testing"

	"github.com/wishgate/wishgate/internal/transcode"
)

// RequireToolsEnv, set to 1, turns a missing third-party tool from a skip
// into a failure. CI sets it so that a broken image cannot pass by skipping.
const RequireToolsEnv = "WISHGATE_REQUIRE_TOOLS"

// RequireTool returns the path of the executable name (ffmpeg, ffprobe,
// chromium...). If it is not installed the test is skipped, or fails when
// WISHGATE_REQUIRE_TOOLS=1.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv(RequireToolsEnv) == "1" {
		t.Fatalf("%s is required (%s=1) but not installed: %v", name, RequireToolsEnv, err)
	}
	t.Skipf("%s not installed; skipping (install it, e.g. apt-get install ffmpeg; set %s=1 to make this a failure)",
		name, RequireToolsEnv)
	return ""
}

// RequireTranscoder skips a test when the build has no audio transcoder
// (built without cgo or the FFmpeg/Opus libraries), or fails it when
// WISHGATE_REQUIRE_TOOLS=1: CI builds with them and must run these tests.
func RequireTranscoder(t testing.TB) {
	t.Helper()
	err := transcode.Available()
	if err == nil {
		return
	}
	if os.Getenv(RequireToolsEnv) == "1" {
		t.Fatalf("the audio transcoder is required (%s=1): %v", RequireToolsEnv, err)
	}
	t.Skipf("skipping: %v", err)
}

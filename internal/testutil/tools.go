// Package testutil holds helpers shared by the project's tests.
package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
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
// (built without cgo or the transcode tag), or fails it when
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

// HasTranscoder reports whether the build has the audio transcoder, for
// tests that check both builds' behaviour. Without it the test goes on
// (checking the build without), except under WISHGATE_REQUIRE_TOOLS=1,
// where it fails: CI must test the transcoder.
func HasTranscoder(t testing.TB) bool {
	t.Helper()
	err := transcode.Available()
	if err == nil {
		return true
	}
	if os.Getenv(RequireToolsEnv) == "1" {
		t.Fatalf("the audio transcoder is required (%s=1): %v", RequireToolsEnv, err)
	}
	t.Logf("checking the build without the audio transcoder: %v", err)
	return false
}

// SidRootEnv names the Debian sid chroot with FFmpeg 9 (default /opt/sid),
// built by sid-clients.sh from the shared tools (.ci/run runs it).
const SidRootEnv = "SID_ROOT"

// RequireSidFFmpeg returns the command that runs FFmpeg 9 (its WHIP muxer)
// from the Debian sid chroot: chroot ROOT ffmpeg. The chroot shares this
// network namespace, so 127.0.0.1 reaches the test's gateway. Missing (no
// chroot, not root, no whip muxer): skipped, or failed under
// WISHGATE_REQUIRE_TOOLS=1.
func RequireSidFFmpeg(t testing.TB) []string {
	t.Helper()
	root := os.Getenv(SidRootEnv)
	if root == "" {
		root = "/opt/sid"
	}
	why := ""
	chroot, err := exec.LookPath("chroot")
	switch {
	case err != nil:
		why = "chroot is not installed"
	case os.Geteuid() != 0:
		why = "chroot needs root"
	default:
		if _, err := os.Stat(root + "/usr/bin/ffmpeg"); err != nil {
			why = "no FFmpeg in the sid chroot " + root + " (run sid-clients.sh as root)"
		} else if out, err := exec.Command(chroot, root, "ffmpeg", "-hide_banner", "-muxers").CombinedOutput(); err != nil {
			why = fmt.Sprintf("chroot %s ffmpeg fails: %v: %.200s", root, err, out)
		} else if !strings.Contains(string(out), " whip ") {
			why = "the sid chroot's FFmpeg has no whip muxer"
		}
	}
	if why == "" {
		return []string{chroot, root, "ffmpeg"}
	}
	if os.Getenv(RequireToolsEnv) == "1" {
		t.Fatalf("FFmpeg 9 (WHIP) is required (%s=1): %s", RequireToolsEnv, why)
	}
	t.Skipf("FFmpeg 9 (WHIP) not available; skipping: %s (set %s=1 to make this a failure)", why, RequireToolsEnv)
	return nil
}

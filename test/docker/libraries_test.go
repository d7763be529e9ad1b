package docker

import (
	"debug/elf"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// debianRelease is the Debian codename an image reference names
// ("golang:1.26-bookworm", "debian:bookworm-slim"), or "".
var debianRelease = regexp.MustCompile(`\b(bullseye|bookworm|trixie|forky)\b`)

// checkRelease: the runtime image is a slim Debian of the same release as
// the build stage, whose shared libraries the binary was linked against
// (another release has other sonames: libavcodec59 is bookworm's).
func checkRelease(t *testing.T, build, final string) {
	t.Helper()
	b, f := debianRelease.FindString(build), debianRelease.FindString(final)
	if b == "" || f == "" || b != f {
		t.Errorf("build stage %q and runtime image %q: want both on one named Debian release", build, final)
	}
	if !strings.HasPrefix(final, "debian:") || !strings.Contains(final, "slim") {
		t.Errorf("runtime image %q, want a slim Debian (the transcoder's libraries are shared objects)", final)
	}
}

// checkRuntimeLibraries: every shared library the binary needs (its ELF
// DT_NEEDED entries) belongs, on this Debian machine, to a package that the
// final stage installs with apt-get, or to libc6 (in every Debian image).
// A library added to the build without its package in the image fails here,
// not when the container starts.
func checkRuntimeLibraries(t *testing.T, bin string, final stage) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	needed, err := f.ImportedLibraries()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(needed, func(l string) bool { return strings.HasPrefix(l, "libavcodec.so") }) {
		t.Errorf("the binary links %v: no libavcodec, so no audio transcoder", needed)
	}
	installed := aptInstalled(final)
	for _, tool := range []string{"dpkg", "ldconfig"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed to map libraries to packages: %v", tool, err)
		}
	}
	for _, lib := range needed {
		pkg, err := packageOf(findLibrary(t, lib))
		if err != nil {
			t.Errorf("%s: %v", lib, err)
			continue
		}
		if pkg == "libc6" {
			continue
		}
		if !slices.Contains(installed, pkg) {
			t.Errorf("the binary needs %s from package %s, which the final stage does not install (it installs %v)", lib, pkg, installed)
		}
	}
}

// packageOf names the Debian package that owns path, trying the path with
// and without /usr (merged-/usr systems link /lib to /usr/lib; packages
// ship under either).
func packageOf(path string) (string, error) {
	alt := "/usr" + path
	if rest, ok := strings.CutPrefix(path, "/usr"); ok {
		alt = rest
	}
	var err error
	for _, p := range []string{path, alt} {
		var out []byte
		if out, err = exec.Command("dpkg", "-S", p).Output(); err == nil {
			pkg, _, _ := strings.Cut(strings.TrimSpace(string(out)), ":")
			return pkg, nil
		}
	}
	return "", fmt.Errorf("no Debian package owns %s: %v", path, err)
}

// findLibrary resolves a soname (x86-64) through the dynamic linker's cache.
func findLibrary(t *testing.T, soname string) string {
	t.Helper()
	out, err := exec.Command("ldconfig", "-p").Output()
	if err != nil {
		t.Fatalf("ldconfig -p: %v", err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(l), " ")
		if !ok || name != soname || !strings.Contains(rest, "x86-64") {
			continue
		}
		if _, p, ok := strings.Cut(rest, "=> "); ok {
			return p
		}
	}
	t.Fatalf("%s is not in the dynamic linker's cache", soname)
	return ""
}

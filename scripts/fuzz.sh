#!/usr/bin/env bash
# Runs every native Go fuzz target (func FuzzX in a *_test.go file) for a
# bounded time each: FUZZTIME per target (default 10s), the whole run kept
# under FUZZ_BUDGET seconds (default 170) by shortening FUZZTIME when there
# are many targets (never below 2s each: with more than ~28 targets the run
# takes longer, and says so). A crasher is written by `go test` to
# <package>/testdata/fuzz/FuzzX/<hash>: commit it as a regression test (the
# plain `go test` run then replays it) and fix the code.
#   scripts/fuzz.sh                 # all targets
#   scripts/fuzz.sh ./internal/rtc  # targets of some packages
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10}
FUZZ_BUDGET=${FUZZ_BUDGET:-170}
FUZZ_PARALLEL=${FUZZ_PARALLEL:-2}

dirs=("$@")
if [ ${#dirs[@]} -eq 0 ]; then
  dirs=(.)
fi

# "pkgdir FuzzName" lines, found without compiling anything.
mapfile -t targets < <(grep -rE --include='*_test.go' -o '^func (Fuzz[A-Za-z0-9_]+)\(' "${dirs[@]}" |
  sed -E 's#^(.*)/[^/]+_test\.go:func (Fuzz[A-Za-z0-9_]+)\($#\1 \2#' | sort -u)
n=${#targets[@]}
if [ "$n" -eq 0 ]; then
  echo "fuzz: no targets" >&2
  exit 1
fi
# Each target also costs about FUZZ_OVERHEAD seconds outside fuzzing
# (linking the instrumented binary, replaying the corpus): measured at ~4 s
# per target on the 2-core CI machine (2026-12-03, 21 targets).
FUZZ_OVERHEAD=${FUZZ_OVERHEAD:-4}
per=$(( (FUZZ_BUDGET - n * FUZZ_OVERHEAD) / n ))
[ "$per" -lt 2 ] && per=2
[ "$per" -gt "$FUZZTIME" ] && per=$FUZZTIME
echo "fuzz: $n targets, ${per}s each"
if [ $(( n * (per + FUZZ_OVERHEAD) )) -gt "$FUZZ_BUDGET" ]; then
  echo "fuzz: $n targets need about $(( n * (per + FUZZ_OVERHEAD) ))s, over FUZZ_BUDGET=${FUZZ_BUDGET}s" >&2
fi

# files DIR: how many files DIR holds (0 if it does not exist).
files() { { find "$1" -type f 2>/dev/null || true; } | wc -l; }

start=$SECONDS
failed=()
for t in "${targets[@]}"; do
  dir=${t% *}
  name=${t#* }
  pkg=./${dir#./}
  echo "--- $pkg $name"
  corpus="$dir/testdata/fuzz/$name"
  before=$(files "$corpus")
  log=$(mktemp)
  if $GO test -run '^$' -fuzz "^${name}\$" -fuzztime "${per}s" -parallel "$FUZZ_PARALLEL" "$pkg" >"$log" 2>&1; then
    grep -v '^fuzz: elapsed' "$log" || true
  else
    grep -v '^fuzz: elapsed' "$log" || true
    # Go 1.26's fuzz coordinator can report its own -fuzztime deadline as
    # a failure ("context deadline exceeded", no input written:
    # golang/go#75804, fixed in Go 1.27). That is no finding; anything
    # else, or a new crasher in the corpus, is.
    after=$(files "$corpus")
    if [ "$after" -eq "$before" ] && grep -q '^    context deadline exceeded$' "$log" &&
      ! grep -qE '^(panic:|    [a-z_]+\.go:[0-9]+:)|Failing input written' "$log"; then
      echo "fuzz: $name: the coordinator's deadline race (golang/go#75804), no crasher: not a failure" >&2
    else
      failed+=("$pkg $name")
    fi
  fi
  rm -f "$log"
done
echo "fuzz: done in $(( SECONDS - start ))s"
if [ ${#failed[@]} -gt 0 ]; then
  printf 'fuzz: FAILED %s\n' "${failed[@]}" >&2
  echo "fuzz: crashers are in <package>/testdata/fuzz/<target>/; commit them with the fix" >&2
  exit 1
fi

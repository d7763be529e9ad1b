#!/usr/bin/env bash
# What bandwidth adaptation costs per viewer: the gateway under the load tool
# (cmd/wishbench) with viewers on ?layer=high (no adaptation) and on auto (an
# estimator per viewer, fed by its receiver reports), for a stream without
# simulcast and for a three-layer simulcast stream (the viewers get the top
# layer, which is the plain stream's video). Gateway pinned to core 0, tool
# to core 1, a fresh gateway per point, the configurations interleaved so
# that all see the same machine. Prints one markdown row per point.
#
# Usage (from the repository root): scripts/bench-adapt.sh [OUT_DIR]
# Environment: COUNTS (default "100 200"), DURATION (20s), RUNS (3).
set -euo pipefail
OUT=${1:-/tmp/bench-adapt}
COUNTS=${COUNTS:-100 200}
DURATION=${DURATION:-20s}
RUNS=${RUNS:-3}
export PATH="$PATH:/usr/local/go/bin"
mkdir -p "$OUT"
go build -o "$OUT/gateway" ./cmd/gateway
go build -o "$OUT/wishbench" ./cmd/wishbench

# point TAG N WISHBENCH_ARGS...
point() {
  local tag=$1 n=$2
  shift 2
  taskset -c 0 "$OUT/gateway" -http-addr 127.0.0.1:18480 -udp-addr 127.0.0.1:18489 -tcp-addr "" \
    -rtsp-addr "" -rate-limit 0 -log-level warn >"$OUT/$tag.server.log" 2>&1 &
  local pid=$!
  for _ in $(seq 50); do
    curl -s -o /dev/null http://127.0.0.1:18480/ && break
    sleep 0.1
  done
  if ! taskset -c 1 "$OUT/wishbench" -whip http://127.0.0.1:18480/whip/bench -viewers "$n" \
      -duration "$DURATION" -server-pid "$pid" -json "$OUT/$tag.json" "$@" >"$OUT/$tag.txt" 2>&1; then
    echo '{"failed": true}' >"$OUT/$tag.json"
  fi
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

CONFIGS="plain-high plain-auto simulcast-high simulcast-auto"
args() {
  case $1 in
  plain-high) echo "-layer high" ;;
  plain-auto) echo "" ;;
  simulcast-high) echo "-simulcast -layer high" ;;
  simulcast-auto) echo "-simulcast" ;;
  esac
}

echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for run in $(seq "$RUNS"); do
  for n in $COUNTS; do
    for c in $CONFIGS; do
      # shellcheck disable=SC2046
      point "$c-$n-$run" "$n" $(args "$c")
    done
  done
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"

row='if .failed then "run failed" else
  "\(.server.millicores_per_viewer*1000|round/1000) | \(.delivered_min*10000|round/10000) | \(.latency_ms.p99*10|round/10) | \(.tool_cores*100|round/100)" end'
echo
echo "| config | N | run | server mcores/viewer | delivered min | frame p99 ms | tool cores |"
echo "|---|---|---|---|---|---|---|"
for n in $COUNTS; do for c in $CONFIGS; do for run in $(seq "$RUNS"); do
  echo "| $c | $n | $run | $(jq -r "$row" "$OUT/$c-$n-$run.json") |"
done; done; done

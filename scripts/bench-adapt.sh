#!/usr/bin/env bash
# What bandwidth adaptation costs per viewer: the gateway under the load tool
# (cmd/wishbench). Gateway pinned to core 0, tool to core 1, a fresh gateway
# per point. Two modes:
#
#   MODE=ab (default): one run per point whose window alternates the same
#   viewers of a three-layer simulcast stream between the top layer (chosen
#   through the WHEP layer extension: no adaptation) and auto (an estimator
#   per viewer, fed by its receiver reports), fixed/auto/auto/fixed...;
#   the ratio of the two is measured within the run. Prints one row per
#   point and phase figures in OUT_DIR/*.txt.
#
#   MODE=interleaved: separate runs of viewers on ?layer=high and on auto,
#   for a stream without simulcast and a simulcast one, interleaved so that
#   all see the same machine.
#
# Usage (from the repository root): scripts/bench-adapt.sh [OUT_DIR]
# Environment: MODE (ab), COUNTS (default "100 200"), DURATION (40s for ab,
# 20s interleaved), RUNS (2 for ab, 3 interleaved), AB (4 phase pairs),
# PORT (18480: the gateway's HTTP port; UDP is PORT+9), ARGS (more
# wishbench flags, e.g. "-bitrate 1000000").
set -euo pipefail
OUT=${1:-/tmp/bench-adapt}
COUNTS=${COUNTS:-100 200}
MODE=${MODE:-ab}
if [ "$MODE" = ab ]; then
  DURATION=${DURATION:-40s}
  RUNS=${RUNS:-2}
else
  DURATION=${DURATION:-20s}
  RUNS=${RUNS:-3}
fi
AB=${AB:-4}
PORT=${PORT:-18480}
ARGS=${ARGS:-}
export PATH="$PATH:/usr/local/go/bin"
mkdir -p "$OUT"
go build -o "$OUT/gateway" ./cmd/gateway
go build -o "$OUT/wishbench" ./cmd/wishbench

# point TAG N WISHBENCH_ARGS...
point() {
  local tag=$1 n=$2
  shift 2
  taskset -c 0 "$OUT/gateway" -http-addr "127.0.0.1:$PORT" -udp-addr "127.0.0.1:$((PORT + 9))" -tcp-addr "" \
    -rtsp-addr "" -rate-limit 0 -log-level warn >"$OUT/$tag.server.log" 2>&1 &
  local pid=$!
  for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
    sleep 0.1
  done
  sleep 0.3 # a gateway that cannot bind has exited by now
  # shellcheck disable=SC2086
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "gateway for $tag did not start (port $PORT taken?): $(tail -1 "$OUT/$tag.server.log")" >&2
    echo '{"failed": true}' >"$OUT/$tag.json"
  elif ! taskset -c 1 "$OUT/wishbench" -whip "http://127.0.0.1:$PORT/whip/bench" -viewers "$n" \
      -duration "$DURATION" -server-pid "$pid" -json "$OUT/$tag.json" $ARGS "$@" >"$OUT/$tag.txt" 2>&1; then
    echo '{"failed": true}' >"$OUT/$tag.json"
  fi
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

if [ "$MODE" = ab ]; then
  echo "# $(date -u +%FT%TZ) $(git describe --always --dirty), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  for run in $(seq "$RUNS"); do
    for n in $COUNTS; do
      point "ab-$n-$run" "$n" -simulcast -ab "$AB" -floor 0
    done
  done
  echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
  row='if .failed then "run failed" else
    "\([.ab.phases[]|select(.auto|not)|.millicores_per_viewer*100|round/100]|map(tostring)|join(" / ")) | \([.ab.phases[]|select(.auto)|.millicores_per_viewer*100|round/100]|map(tostring)|join(" / ")) | \(.ab.auto_to_fixed_ratio*1000|round/1000) | \([.ab.phases[].delivered_min]|min*1000|round/1000)" end'
  echo
  echo "| N | run | top layer, mcores/viewer per phase | auto, mcores/viewer per phase | auto / top | delivered min |"
  echo "|---|---|---|---|---|---|"
  for n in $COUNTS; do for run in $(seq "$RUNS"); do
    echo "| $n | $run | $(jq -r "$row" "$OUT/ab-$n-$run.json") |"
  done; done
  exit 0
fi

CONFIGS="plain-high plain-auto simulcast-high simulcast-auto"
args() {
  case $1 in
  plain-high) echo "-layer high" ;;
  plain-auto) echo "" ;;
  simulcast-high) echo "-simulcast -layer high" ;;
  simulcast-auto) echo "-simulcast" ;;
  esac
}

echo "# $(date -u +%FT%TZ) $(git describe --always --dirty), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
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

#!/bin/sh
# Runs wishbench for each viewer count in both layouts against a fresh
# gateway each time and prints one markdown table row per run; the JSON
# reports stay in $OUT. Usage (from the repository root):
#   sh cmd/wishbench/sweep.sh [OUT_DIR] [DURATION] [COUNTS...]
# Layouts: "shared" (gateway and tool on both cores) and "pinned" (gateway
# on core 0 with taskset -c 0, the tool on core 1 with taskset -c 1).
set -eu
OUT=${1:-/tmp/wishbench-sweep}; shift || true
DUR=${1:-20s}; shift || true
COUNTS=${*:-1 10 50 100 200 300}
mkdir -p "$OUT"
go build -o "$OUT/gateway" ./cmd/gateway
go build -o "$OUT/wishbench" ./cmd/wishbench
echo "| layout | N | server mcores/viewer | pion floor mcores | ratio pion / SRTP floor | RSS MB/viewer | join→keyframe p50/p95 ms | latency p50/p99 ms | delivered mean/min | tool cores |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for layout in shared pinned; do
  for n in $COUNTS; do
    gw_pin=""; tool_pin=""
    if [ "$layout" = pinned ]; then gw_pin="taskset -c 0"; tool_pin="taskset -c 1"; fi
    $gw_pin "$OUT/gateway" -http-addr 127.0.0.1:18480 -udp-addr 127.0.0.1:18489 \
      -tcp-addr 127.0.0.1:18490 -rtsp-addr 127.0.0.1:18491 >"$OUT/gateway-$layout-$n.log" 2>&1 &
    gw=$!
    sleep 1
    json="$OUT/$layout-$n.json"
    if $tool_pin "$OUT/wishbench" -whip http://127.0.0.1:18480/whip/bench -viewers "$n" \
        -duration "$DUR" -server-pid "$gw" -json "$json" >"$OUT/$layout-$n.txt" 2>&1; then
      jq -r --arg l "$layout" '"| \($l) | \(.viewers) | \(.server.millicores_per_viewer*100|round/100) | \(.floor.pion_millicores_per_viewer*100|round/100) | \(.floor.server_ratio_to_pion_floor*100|round/100) / \(.floor.server_ratio_to_srtp_floor*100|round/100) | \(.server.rss_per_viewer_mb*1000|round/1000) | \(.join_first_keyframe_ms.p50|round) / \(.join_first_keyframe_ms.p95|round) | \(.latency_ms.p50*10|round/10) / \(.latency_ms.p99*10|round/10) | \(.delivered_mean*10000|round/10000) / \(.delivered_min*10000|round/10000) | \(.tool_cores*100|round/100) |"' "$json"
    else
      echo "| $layout | $n | run failed: see $OUT/$layout-$n.txt |"
    fi
    kill "$gw" 2>/dev/null || true; wait "$gw" 2>/dev/null || true
  done
done

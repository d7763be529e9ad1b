#!/usr/bin/env bash
# Side by side: wishgate and MediaMTX through the same load tool (cmd/wishbench)
# in one run, each server pinned to core 0 and the tool to core 1, a fresh
# server per point, the two servers alternating at each point so that both
# see the same machine. Prints one markdown row per point and a summary of
# the ratio (wishgate / MediaMTX CPU per viewer) with its spread over runs.
#
# Usage (from the repository root, as root for the veth layout):
#   scripts/bench-compare.sh MEDIAMTX_CHECKOUT [OUT_DIR]
# Environment: COUNTS (default "50 100 200 400 800"), DURATION (20s),
# LAYOUTS ("loopback veth"), RUNS (1), SERVERS ("wishgate mediamtx").
#
# MEDIAMTX_CHECKOUT is a checkout of github.com/bluenviron/mediamtx. Its
# `go generate` would download files; instead internal/core/VERSION is set to
# `git describe` and an empty internal/servers/hls/hls.min.js is created when
# missing (the two files the build embeds), then it is built with `go build`.
# Nothing of it is copied into this repository.
#
# Layouts: "loopback" runs everything on 127.0.0.1; "veth" puts the server
# in network namespace wbsrv (10.233.0.1) and the tool in wbcli (10.233.0.2),
# joined by a veth pair the script creates and deletes, so media crosses a
# virtual link as on a real NIC path instead of the loopback shortcut.
set -euo pipefail
MTX=${1:?usage: scripts/bench-compare.sh MEDIAMTX_CHECKOUT [OUT_DIR]}
OUT=${2:-/tmp/bench-compare}
COUNTS=${COUNTS:-50 100 200 400 800}
DURATION=${DURATION:-20s}
LAYOUTS=${LAYOUTS:-loopback veth}
RUNS=${RUNS:-1}
SERVERS=${SERVERS:-wishgate mediamtx}
export PATH="$PATH:/usr/local/go/bin"
mkdir -p "$OUT"
MTX=$(cd "$MTX" && pwd)

go build -o "$OUT/gateway" ./cmd/gateway
go build -o "$OUT/wishbench" ./cmd/wishbench
if [[ " $SERVERS " == *" mediamtx "* ]]; then
  [ -s "$MTX/internal/core/VERSION" ] || git -C "$MTX" describe --tags --always >"$MTX/internal/core/VERSION"
  [ -e "$MTX/internal/servers/hls/hls.min.js" ] || : >"$MTX/internal/servers/hls/hls.min.js"
  (cd "$MTX" && go build -o "$OUT/mediamtx" .)
  MTX_VERSION=$(cat "$MTX/internal/core/VERSION")
fi

cleanup_netns() {
  ip netns del wbsrv 2>/dev/null || true
  ip netns del wbcli 2>/dev/null || true
}
setup_netns() {
  cleanup_netns
  ip netns add wbsrv
  ip netns add wbcli
  ip link add wbv0 netns wbsrv type veth peer name wbv1 netns wbcli
  ip -n wbsrv addr add 10.233.0.1/30 dev wbv0
  ip -n wbcli addr add 10.233.0.2/30 dev wbv1
  for ns in wbsrv wbcli; do ip -n $ns link set lo up; done
  ip -n wbsrv link set wbv0 up
  ip -n wbcli link set wbv1 up
}
trap cleanup_netns EXIT

# mediamtx_config ADDR writes a configuration with WebRTC only, on ADDR,
# one UDP port, no TCP.
mediamtx_config() {
  cat >"$OUT/mediamtx.yml" <<EOF
logLevel: warn
rtsp: false
rtmp: false
hls: false
srt: false
moq: false
api: false
metrics: false
pprof: false
playback: false
webrtc: true
webrtcAddress: $1:18580
webrtcLocalUDPAddress: $1:18589
webrtcLocalTCPAddress: ""
webrtcIPsFromInterfaces: false
webrtcAdditionalHosts: [$1]
paths:
  all_others:
EOF
}

# point LAYOUT SERVER N RUN: one fresh server, one wishbench run, one JSON.
point() {
  local layout=$1 server=$2 n=$3 run=$4 addr=127.0.0.1 srv_ns="" cli_ns="" link=""
  if [ "$layout" = veth ]; then
    addr=10.233.0.1 srv_ns="ip netns exec wbsrv" cli_ns="ip netns exec wbcli" link="-link wbv1"
  fi
  local tag="$layout-$server-$n-$run" whip whep
  if [ "$server" = wishgate ]; then
    $srv_ns taskset -c 0 "$OUT/gateway" -http-addr $addr:18480 -udp-addr $addr:18489 -tcp-addr "" \
      -rtsp-addr "" -rate-limit 0 -log-level warn >"$OUT/$tag.server.log" 2>&1 &
    whip=http://$addr:18480/whip/bench whep=http://$addr:18480/whep/bench
  else
    mediamtx_config $addr
    $srv_ns taskset -c 0 "$OUT/mediamtx" "$OUT/mediamtx.yml" >"$OUT/$tag.server.log" 2>&1 &
    whip=http://$addr:18580/bench/whip whep=http://$addr:18580/bench/whep
  fi
  local pid=$!
  for _ in $(seq 50); do
    $cli_ns curl -s -o /dev/null "http://$addr:$([ "$server" = wishgate ] && echo 18480 || echo 18580)/" && break
    sleep 0.1
  done
  # shellcheck disable=SC2086
  if ! $cli_ns taskset -c 1 "$OUT/wishbench" -whip "$whip" -whep "$whep" -viewers "$n" $link \
      -duration "$DURATION" -server-pid "$pid" -json "$OUT/$tag.json" >"$OUT/$tag.txt" 2>&1; then
    echo "{\"failed\": true}" >"$OUT/$tag.json"
  fi
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD) vs MediaMTX ${MTX_VERSION:-}, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for layout in $LAYOUTS; do
  [ "$layout" = veth ] && setup_netns
  for run in $(seq "$RUNS"); do
    for n in $COUNTS; do
      for server in $SERVERS; do
        point "$layout" "$server" "$n" "$run"
      done
    done
  done
  [ "$layout" = veth ] && cleanup_netns
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"

# The table: one row per layout, N and run; then the ratio's spread.
row='if .failed then "run failed" else
  "\(.server.millicores_per_viewer*100|round/100) | \(.delivered_min*10000|round/10000) | \(.latency_ms.p99*10|round/10) | \(.join_first_keyframe_ms.p95|round) | \(.server.rss_per_viewer_mb*1000|round/1000) | \(.tool_cores*100|round/100) | \(.floor.srtp_millicores_per_viewer*100|round/100)" end'
echo
echo "| layout | N | run | server | mcores/viewer | delivered min | frame p99 ms | join→keyframe p95 ms | RSS MB/viewer | tool cores | floor AES-GCM+sendto mcores/viewer |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for layout in $LAYOUTS; do for n in $COUNTS; do for run in $(seq "$RUNS"); do for server in $SERVERS; do
  echo "| $layout | $n | $run | $server | $(jq -r "$row" "$OUT/$layout-$server-$n-$run.json") |"
done; done; done; done
if [ "$SERVERS" = "wishgate mediamtx" ]; then
  echo
  echo "| layout | N | CPU per viewer, wishgate / MediaMTX (each run) | min | max |"
  echo "|---|---|---|---|---|"
  for layout in $LAYOUTS; do for n in $COUNTS; do
    ratios=""
    for run in $(seq "$RUNS"); do
      r=$(jq -rn --slurpfile w "$OUT/$layout-wishgate-$n-$run.json" --slurpfile m "$OUT/$layout-mediamtx-$n-$run.json" \
        'if ($w[0].failed or $m[0].failed) then "-" else ($w[0].server.millicores_per_viewer / $m[0].server.millicores_per_viewer * 100 | round / 100) end')
      ratios="$ratios $r"
    done
    echo "| $layout | $n |$ratios | $(echo $ratios | tr ' ' '\n' | grep -v - | sort -n | head -1) | $(echo $ratios | tr ' ' '\n' | grep -v - | sort -n | tail -1) |"
  done; done
fi

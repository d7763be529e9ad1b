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
# LAYOUTS ("loopback veth"), RUNS (1), SERVERS ("wishgate mediamtx"),
# PORT_BASE (18400: wishgate on +80/+89, MediaMTX on +180/+189), NETNS
# (the namespaces' prefix, "wb"), PROFILE (a viewer count: after the sweep,
# a 10 s CPU profile of wishgate on loopback at that many viewers, its top
# functions printed; empty: none).
#
# MEDIAMTX_CHECKOUT is a checkout of github.com/bluenviron/mediamtx. Its
# `go generate` would download files; instead internal/core/VERSION is
# replaced by `git describe` and an empty internal/servers/hls/hls.min.js is
# created when missing (the two files the build embeds), then it is built
# with `go build`.
# Nothing of it is copied into this repository.
#
# Layouts: "loopback" runs everything on 127.0.0.1; "veth" puts the server
# in network namespace ${NETNS}srv (10.233.0.1) and the tool in ${NETNS}cli (10.233.0.2),
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
PORT_BASE=${PORT_BASE:-18400}
NETNS=${NETNS:-wb}
PROFILE=${PROFILE:-}
WG_HTTP=$((PORT_BASE + 80)) WG_UDP=$((PORT_BASE + 89)) MTX_HTTP=$((PORT_BASE + 180)) MTX_UDP=$((PORT_BASE + 189))
SRV=${NETNS}srv CLI=${NETNS}cli
export PATH="$PATH:/usr/local/go/bin"
mkdir -p "$OUT"
MTX=$(cd "$MTX" && pwd)

go build -o "$OUT/gateway" ./cmd/gateway
go build -o "$OUT/wishbench" ./cmd/wishbench
if [[ " $SERVERS " == *" mediamtx "* ]]; then
  git -C "$MTX" describe --tags --always >"$MTX/internal/core/VERSION"
  [ -e "$MTX/internal/servers/hls/hls.min.js" ] || : >"$MTX/internal/servers/hls/hls.min.js"
  (cd "$MTX" && go build -o "$OUT/mediamtx" .)
  MTX_VERSION=$(cat "$MTX/internal/core/VERSION")
fi

cleanup_netns() {
  ip netns del "$SRV" 2>/dev/null || true
  ip netns del "$CLI" 2>/dev/null || true
}
setup_netns() {
  cleanup_netns
  ip netns add "$SRV"
  ip netns add "$CLI"
  ip link add "${NETNS}v0" netns "$SRV" type veth peer name "${NETNS}v1" netns "$CLI"
  ip -n "$SRV" addr add 10.233.0.1/30 dev "${NETNS}v0"
  ip -n "$CLI" addr add 10.233.0.2/30 dev "${NETNS}v1"
  for ns in "$SRV" "$CLI"; do ip -n "$ns" link set lo up; done
  ip -n "$SRV" link set "${NETNS}v0" up
  ip -n "$CLI" link set "${NETNS}v1" up
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
webrtcAddress: $1:$MTX_HTTP
webrtcLocalUDPAddress: $1:$MTX_UDP
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
    addr=10.233.0.1 srv_ns="ip netns exec $SRV" cli_ns="ip netns exec $CLI" link="-link ${NETNS}v1"
  fi
  local tag="$layout-$server-$n-$run" whip whep pprof=${5:-} prof_pid
  if [ "$server" = wishgate ]; then
    # shellcheck disable=SC2086
    $srv_ns taskset -c 0 "$OUT/gateway" -http-addr $addr:$WG_HTTP -udp-addr $addr:$WG_UDP -tcp-addr "" \
      -rtsp-addr "" -rate-limit 0 -log-level warn ${pprof:+-pprof-addr $pprof} >"$OUT/$tag.server.log" 2>&1 &
    whip=http://$addr:$WG_HTTP/whip/bench whep=http://$addr:$WG_HTTP/whep/bench
  else
    mediamtx_config $addr
    $srv_ns taskset -c 0 "$OUT/mediamtx" "$OUT/mediamtx.yml" >"$OUT/$tag.server.log" 2>&1 &
    whip=http://$addr:$MTX_HTTP/bench/whip whep=http://$addr:$MTX_HTTP/bench/whep
  fi
  local pid=$!
  for _ in $(seq 50); do
    $cli_ns curl -s -o /dev/null "http://$addr:$([ "$server" = wishgate ] && echo $WG_HTTP || echo $MTX_HTTP)/" && break
    sleep 0.1
  done
  if [ -n "$pprof" ]; then
    # The profile covers the middle of the window: joins (20 ms apart) and
    # the warm-up first.
    (sleep $((n / 50 + 8)) && curl -s -o "$OUT/$tag.cpu.pprof" "http://$pprof/debug/pprof/profile?seconds=10") &
    prof_pid=$!
  fi
  # shellcheck disable=SC2086
  if ! $cli_ns taskset -c 1 "$OUT/wishbench" -whip "$whip" -whep "$whep" -viewers "$n" $link \
      -duration "$DURATION" -server-pid "$pid" -json "$OUT/$tag.json" >"$OUT/$tag.txt" 2>&1; then
    echo "{\"failed\": true}" >"$OUT/$tag.json"
  fi
  [ -n "$pprof" ] && wait "$prof_pid"
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
if [ -n "$PROFILE" ]; then
  point loopback wishgate "$PROFILE" profile "127.0.0.1:$((PORT_BASE + 60))"
fi
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

if [ -n "$PROFILE" ] && [ -s "$OUT/loopback-wishgate-$PROFILE-profile.cpu.pprof" ]; then
  echo
  echo "CPU profile of wishgate at $PROFILE viewers (loopback, 10 s of the window): $OUT/loopback-wishgate-$PROFILE-profile.cpu.pprof"
  echo '```'
  go tool pprof -top -nodecount=30 "$OUT/gateway" "$OUT/loopback-wishgate-$PROFILE-profile.cpu.pprof" 2>/dev/null | sed -n '1,40p'
  echo '```'
fi

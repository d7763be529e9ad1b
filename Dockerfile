# wishgate: WHIP/WHEP gateway with an RTSP bridge and the audio transcoder.
#
#   docker build -t wishgate .
#   docker run --rm -p 8080:8080 -p 8189:8189/udp -p 8189:8189 -p 8554:8554 \
#     -e WISHGATE_PUBLIC_IP=203.0.113.10 wishgate
#
# test/docker checks this file without a Docker engine: it runs the build
# stage's go commands in the context `docker build .` sends (.dockerignore
# applied), checks that the build stage installs the -dev package of every
# library cgo asks for and the final stage the package of every shared
# library the binary links, runs it with the final stage's ENTRYPOINT, CMD
# and ENV, then runs the HEALTHCHECK.

# Both stages on Debian 12 (bookworm): the binary links the FFmpeg and Opus
# shared libraries of the release it was built on.
FROM golang:1.26-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends pkg-config libavcodec-dev libavutil-dev libswresample-dev libopus-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Modules first: this layer stays cached while only the sources change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# cgo and the transcode tag for internal/transcode (camera AAC, G.711, L16
# to Opus).
ENV CGO_ENABLED=1
RUN go build -tags transcode -trimpath -ldflags="-s -w" -o /out/wishgate ./cmd/gateway

# A slim Debian, not distroless/static: the binary needs libavcodec,
# libswresample and libopus at run time. No shell is used by the image
# itself (exec-form ENTRYPOINT and HEALTHCHECK).
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tzdata libavcodec59 libavutil57 libswresample4 libopus0 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 65532 --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin nonroot
COPY --from=build /out/wishgate /usr/local/bin/wishgate
# Defaults for a container: every listener on all interfaces. Set
# WISHGATE_PUBLIC_IP to the host's reachable address (WebRTC candidates).
ENV WISHGATE_HTTP_ADDR=:8080 \
    WISHGATE_UDP_ADDR=:8189 \
    WISHGATE_TCP_ADDR=:8189 \
    WISHGATE_RTSP_ADDR=:8554 \
    WISHGATE_LOG_LEVEL=info
# HTTP (WHIP, WHEP, API, pages), WebRTC media over UDP and over ICE-TCP, RTSP,
# RTP/RTCP to RTSP readers over UDP.
EXPOSE 8080/tcp 8189/udp 8189/tcp 8554/tcp 8000/udp 8001/udp
USER nonroot:nonroot
HEALTHCHECK --interval=15s --timeout=5s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/wishgate", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/wishgate"]
CMD []

# wishgate: WHIP/WHEP gateway with an RTSP bridge.
#
#   docker build -t wishgate .
#   docker run --rm -p 8080:8080 -p 8189:8189/udp -p 8189:8189 -p 8554:8554 \
#     -e WISHGATE_PUBLIC_IP=203.0.113.10 wishgate
#
# test/docker checks this file without a Docker engine: it builds the binary
# with the flags of the build stage below and runs it with the final
# stage's ENTRYPOINT, CMD and ENV, then runs the HEALTHCHECK command.

FROM golang:1.26 AS build
WORKDIR /src
# Modules first: this layer stays cached while only the sources change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ENV CGO_ENABLED=0
RUN go build -trimpath -ldflags="-s -w" -o /out/wishgate ./cmd/gateway

# distroless/static: CA certificates, tzdata and a nonroot user, no shell.
FROM gcr.io/distroless/static-debian12:nonroot
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

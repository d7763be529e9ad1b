# `make test` is the one command that runs every test (README, .ci/run).
GO ?= go

.PHONY: test build run bench vet fuzz

test: vet
	$(GO) test -race -count=1 -timeout 14m ./...

vet:
	$(GO) vet ./...

# The full binary: cgo on, for the audio transcoder (internal/transcode),
# which needs gcc, pkg-config and libavcodec-dev libswresample-dev
# libopus-dev. `CGO_ENABLED=0 go build ./cmd/gateway` still builds a static
# binary without it.
build:
	CGO_ENABLED=1 $(GO) build -trimpath -o wishgate ./cmd/gateway

run:
	$(GO) run ./cmd/gateway

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./streams/ ./internal/...

# Every native fuzz target for a bounded time (up to 10 s each, under 3 min
# in all); crashers land in <package>/testdata/fuzz/. See scripts/fuzz.sh.
fuzz:
	GO=$(GO) ./scripts/fuzz.sh

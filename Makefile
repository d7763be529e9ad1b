# `make test` is the one command that runs every test (README, .ci/run).
GO ?= go

# The audio transcoder (internal/transcode) is cgo against FFmpeg and Opus,
# behind the `transcode` build tag: every target below sets it when
# pkg-config finds the libraries' development packages (Debian: gcc
# pkg-config libavcodec-dev libswresample-dev libopus-dev). Without the tag
# (`go build ./cmd/gateway`, `go run`) the gateway needs Go alone and runs
# without the transcoder. TAGS= (empty) forces the build without it.
TRANSCODE_LIBS = libavcodec libavutil libswresample opus
HAVE_TRANSCODE := $(shell pkg-config --exists $(TRANSCODE_LIBS) 2>/dev/null && echo yes)
TAGS ?= $(if $(HAVE_TRANSCODE),transcode)
TAGFLAG = $(if $(TAGS),-tags $(TAGS))
NO_TRANSCODE_MSG = the FFmpeg/Opus development packages were not found by pkg-config \
($(TRANSCODE_LIBS)); install them (Debian: apt-get install gcc pkg-config libavcodec-dev \
libswresample-dev libopus-dev)

.PHONY: test build run bench vet fuzz transcode-check

# Under WISHGATE_REQUIRE_TOOLS=1 (CI) the transcoder's tests must run:
# missing libraries are a failure, not a build that quietly tests the stub.
test: transcode-check vet
	$(GO) test $(TAGFLAG) -race -count=1 -timeout 14m ./...

transcode-check:
ifeq ($(HAVE_TRANSCODE),)
ifeq ($(WISHGATE_REQUIRE_TOOLS),1)
	@echo "make: WISHGATE_REQUIRE_TOOLS=1 and $(NO_TRANSCODE_MSG)" >&2; exit 1
else
	@echo "make: testing without the audio transcoder (its tests skip): $(NO_TRANSCODE_MSG)" >&2
endif
endif

# Both builds are vetted: with the transcoder and without (the stub).
vet:
	$(GO) vet ./...
	$(if $(TAGS),$(GO) vet $(TAGFLAG) ./...)

# The full binary ./wishgate (OUT=path puts it elsewhere), with the
# transcoder; it fails rather than build one without. `go build
# ./cmd/gateway` builds that one.
OUT ?= wishgate
build:
ifeq ($(HAVE_TRANSCODE),)
	@echo "make build: the full binary transcodes camera audio, but $(NO_TRANSCODE_MSG); or run go build ./cmd/gateway for a binary without the transcoder" >&2; exit 1
endif
	CGO_ENABLED=1 $(GO) build -tags transcode -trimpath -o $(OUT) ./cmd/gateway

run:
	$(GO) run $(TAGFLAG) ./cmd/gateway

bench:
	$(GO) test $(TAGFLAG) -run '^$$' -bench . -benchmem ./streams/ ./internal/...

# Every native fuzz target for a bounded time (up to 10 s each, under 3 min
# in all); crashers land in <package>/testdata/fuzz/. See scripts/fuzz.sh.
fuzz:
	GO=$(GO) GOFLAGS="$(GOFLAGS) $(if $(TAGS),-tags=$(TAGS))" ./scripts/fuzz.sh

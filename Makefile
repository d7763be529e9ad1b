# `make test` is the one command that runs every test (README, .ci/run).
GO ?= go

.PHONY: test build run bench vet

test: vet
	$(GO) test -race -count=1 -timeout 14m ./...

vet:
	$(GO) vet ./...

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o wishgate ./cmd/gateway

run:
	$(GO) run ./cmd/gateway

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./streams/ ./internal/...

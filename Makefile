# otelcol-gateway: `make run` builds the distribution and runs it on the
# embedded default configuration; `make test` runs every test.

SHELL := /bin/bash
OCB_VERSION := v0.152.0
TOOLS := $(CURDIR)/.tools
OCB := $(TOOLS)/builder
DIST_DIR := cmd/otelcol-gateway
BIN := $(DIST_DIR)/otelcol-gateway

# The module proxy here serves no checksum database: every module the build
# uses is pinned in a committed go.sum, so the look-up is never needed.
export GOSUMDB := off
export GOFLAGS := -buildvcs=false

GO_PACKAGES := ./...
FUZZTIME ?= 10s
FUZZMINIMIZETIME ?= 60s

.PHONY: all build run test unit lint generate check-generated integration deploy bench bench-e2e bench-stock fuzz clean tools pgo

all: build

tools: $(OCB)

$(OCB):
	GOBIN=$(TOOLS) go install go.opentelemetry.io/collector/cmd/builder@$(OCB_VERSION)

## generate: regenerate cmd/otelcol-gateway from builder-config.yaml (no compile)
generate: $(OCB)
	$(OCB) --config builder-config.yaml --skip-compilation
	gofmt -w $(DIST_DIR)/*.go

## build: generate and compile the distribution into cmd/otelcol-gateway/otelcol-gateway
build: $(OCB)
	$(OCB) --config builder-config.yaml
	@# ocb's imports are not in gofmt's order: format them so the committed tree is clean
	gofmt -w $(DIST_DIR)/*.go

## pgo: record cmd/otelcol-gateway/default.pgo, the CPU profile the build is
## optimised with, from the built collector under the benchmark's load (bench/pgo.sh)
pgo: build
	bench/pgo.sh

## run: build, then run on the embedded default configuration (no --config needed)
run: build
	./$(BIN)

## check-generated: fail when the committed generated code differs from what ocb generates
check-generated:
	@git diff --exit-code --stat -- $(DIST_DIR) || { echo "cmd/otelcol-gateway differs from what builder-config.yaml generates: run 'make generate' and commit"; exit 1; }
	@untracked=$$(git ls-files --others --exclude-standard -- $(DIST_DIR)); \
	  if [ -n "$$untracked" ]; then echo "untracked generated files: $$untracked"; exit 1; fi

## lint: gofmt and go vet
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	go vet $(GO_PACKAGES)
	cd integration && go vet ./...
	cd deploy && go vet ./...
	cd deploy/healthcheck && go vet ./...
	cd bench && go vet ./...

## unit: the project's unit tests (no distribution build needed)
unit:
	go test -count=1 $(GO_PACKAGES)
	cd bench && go test -count=1 ./...

## fuzz: each fuzz target for FUZZTIME (a duration, or a count of executions like 2000x)
fuzz:
	@set -e; for pkg in $$(go list $(GO_PACKAGES)); do \
	  for target in $$(go test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$target"; go test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) $$pkg; \
	  done; done

## integration: end-to-end tests of the built binary, real processes on loopback,
## including the contrib testbed scenarios (CPU/RSS limits; results in
## integration/testoutput/testbed/)
integration: build
	cd integration && OTELCOL_GATEWAY_BIN=$(CURDIR)/$(BIN) go test -count=1 -timeout 20m ./...
	cd deploy && OTELCOL_GATEWAY_BIN=$(CURDIR)/$(BIN) go test -count=1 -run '^TestBinary' ./...

## deploy: the deployment files' tests (manifests, Dockerfile, compose, systemd; no binary needed)
deploy:
	cd deploy && go test -count=1 -skip '^TestBinary' ./...
	cd deploy/healthcheck && go test -count=1 ./...

## test: every test: lint, unit, the generated code check, the build, integration, a short fuzz of every target
test: lint unit deploy build check-generated integration
	# counted, not timed: a loaded machine must not turn a slow worker into a failure
	$(MAKE) fuzz FUZZTIME=2000x FUZZMINIMIZETIME=20x

## bench: Go benchmarks of the hot paths (classification, filter, sampler)
bench:
	go test -run '^$$' -bench . -benchmem ./internal/... ./receiver/... ./processor/...

## bench-e2e: the end-to-end benchmark of docs/benchmarks.md (issue #12): floor, stock
## and otelcol-gateway side by side as child processes; never part of `make test`.
## BENCH_ROUNDS, BENCH_DURATION, BENCH_GOMAXPROCS, BENCH_PAIRED, BENCH_ARGS tune it; results in bench/results/.
## After the rounds, BENCH_PAIRED repetitions of paired windows (every collector up,
## the fixed-rate loads alternating between them): the estimate at the fixed rates.
BENCH_ROUNDS ?= 4
BENCH_PAIRED ?= 8
BENCH_DURATION ?= 3s
BENCH_GOMAXPROCS ?= 1
BENCH_ARGS ?=
BUILD_LOCK ?= /tmp/otelcol-build.lock
STOCK_BIN := bench/stock/build/otelcol-stock
bench-e2e: bench-stock
	flock $(BUILD_LOCK) $(MAKE) build
	cd bench && go build -o results/bench-e2e ./cmd/bench-e2e && ./results/bench-e2e \
	  -rounds $(BENCH_ROUNDS) -duration $(BENCH_DURATION) -gomaxprocs $(BENCH_GOMAXPROCS) -paired $(BENCH_PAIRED) -out results $(BENCH_ARGS)

## bench-stock: the stock reference collector (stock components only, the same pinned ocb)
bench-stock: $(STOCK_BIN)

$(STOCK_BIN): bench/stock/builder-config.yaml | $(OCB)
	flock $(BUILD_LOCK) sh -c 'cd bench/stock && $(OCB) --config builder-config.yaml'

clean:
	rm -f $(BIN) $(STOCK_BIN)

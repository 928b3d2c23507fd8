#!/usr/bin/env bash
# pgo.sh: records the CPU profile otelcol-gateway is compiled with
# (cmd/otelcol-gateway/default.pgo: Go's profile-guided optimisation, which
# `go build` and so `make build` use by default). Run by `make pgo`, after
# `make build`: the built collector runs on bench/testdata/krakend.json as a
# benchmark round starts it (bench-e2e -serve: GOMAXPROCS=1, the harness's
# sink) and takes unthrottled trace load, then metric load, for one 60 s
# profile window (OTELCOL_GATEWAY_CPU_PROFILE, internal/cpuprofile). Then
# `make build` again, and commit default.pgo with the change that called for
# it (docs/benchmarks.md, "Profile-guided optimisation").
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bench=$root/bench
out=$(mktemp -d)
cd "$bench"
go build -o results/bench-e2e ./cmd/bench-e2e

OTELCOL_GATEWAY_CPU_PROFILE=$out/cpu.pprof OTELCOL_GATEWAY_CPU_PROFILE_SECONDS=60 \
	./results/bench-e2e -serve gateway -out "$out" >"$out/serve.out" 2>"$out/serve.err" &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
for _ in $(seq 100); do
	[[ -s $out/serve.out ]] && break
	kill -0 "$server" 2>/dev/null || break
	sleep 0.1
done
receiver=$(sed -n 's/^receiver=\([^ ]*\) .*/\1/p' "$out/serve.out")
[[ -n $receiver ]] || { echo "the collector did not start:" >&2; cat "$out/serve.err" >&2; exit 1; }

# 33 s + 28 s of load cover the first 60 s window, start-up aside.
GOMAXPROCS=2 ./results/bench-e2e load -endpoint "$receiver" -signal traces -rate 0 -duration 33s
GOMAXPROCS=2 ./results/bench-e2e load -endpoint "$receiver" -signal metrics -rate 0 -duration 28s
for _ in $(seq 200); do
	[[ -s $out/cpu.pprof ]] && break
	sleep 0.1
done
[[ -s $out/cpu.pprof ]] || { echo "no profile was written: see $out" >&2; exit 1; }
cp "$out/cpu.pprof" "$root/cmd/otelcol-gateway/default.pgo"
kill "$server" 2>/dev/null || true
wait 2>/dev/null || true
rm -rf "$out"
echo "wrote cmd/otelcol-gateway/default.pgo; now run make build again"

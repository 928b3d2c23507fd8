#!/usr/bin/env bash
# profile.sh: perf profile of one benchmark collector under unthrottled trace
# (or, with SIGNAL=metrics, metric) load, as in docs/benchmarks.md ("Where the gap to the floor goes"). Run from
# the repository's root after `make build bench-stock` and
# `cd bench && go build -o results/bench-e2e ./cmd/bench-e2e`:
#
#   bench/profile.sh floor      # the stock otlp receiver -> nop (bench/stock/floor.yaml)
#   bench/profile.sh floor-otlp
#   bench/profile.sh gateway    # otelcol-gateway on bench/testdata/krakend.json
#   SIGNAL=metrics bench/profile.sh gateway
#
# It starts the harness's sink and the collector at GOMAXPROCS=1, sends
# unthrottled load for 24 s, records 15 s of it with perf at 499 Hz, and
# prints the collector's CPU over the recording (from /proc), the load's
# accepted rate and the top lists of bench/cmd/perfsym, grouped by package.
# Needs perf (Debian: linux-perf) and the permission to record another process.
set -euo pipefail

pipeline=${1:?usage: bench/profile.sh floor|floor-otlp|gateway [out-dir]}
root=$(cd "$(dirname "$0")/.." && pwd)
signal=${SIGNAL:-traces}
out=${2:-$root/bench/results/profile-$pipeline-$signal}
bench=$root/bench
harness=$bench/results/bench-e2e
mkdir -p "$out"

case $pipeline in
floor | floor-otlp)
	bin=$bench/stock/build/otelcol-stock
	args=(--config "$bench/stock/$pipeline.yaml")
	;;
gateway)
	bin=$root/cmd/otelcol-gateway/otelcol-gateway
	args=(--config "krakend:$bench/testdata/krakend.json" --config "file:$bench/testdata/gateway-overlay.yaml")
	;;
*)
	echo "unknown pipeline $pipeline" >&2
	exit 2
	;;
esac
for f in "$bin" "$harness"; do
	[[ -x $f ]] || { echo "missing $f: see the usage at the top of $0" >&2; exit 2; }
done
command -v perf >/dev/null || { echo "perf is not installed" >&2; exit 2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

"$harness" sink >"$out/sink.addr" 2>"$out/sink.log" &
pids+=($!)
for _ in $(seq 50); do [[ -s $out/sink.addr ]] && break; sleep 0.1; done
sink=$(head -1 "$out/sink.addr")

receiver=127.0.0.1:$(free_port)
export GOMAXPROCS=1 BENCH_RECEIVER=$receiver BENCH_TRACES_SINK=$sink BENCH_METRICS_SINK=$sink \
	BENCH_SELF_METRICS_PORT=$(free_port) BENCH_HEALTH_PORT=$(free_port)
"$bin" "${args[@]}" >"$out/collector.log" 2>&1 &
collector=$!
pids+=("$collector")
sleep 3

GOMAXPROCS=2 "$harness" load -endpoint "$receiver" -signal "$signal" -rate 0 -duration 24s >"$out/load.log" 2>&1 &
load=$!
sleep 5 # past the warm-up
ticks() { awk '{print $14 + $15}' "/proc/$collector/stat"; }
t0=$(ticks)
perf record -F 499 -g -p "$collector" -o "$out/perf.data" -- sleep 15 2>"$out/perf.err"
t1=$(ticks)
wait "$load"

hz=$(getconf CLK_TCK)
echo "# $pipeline: $(tail -1 "$out/load.log" | sed 's/^[0-9/: ]*//'); collector CPU over the 15 s recorded: $(awk -v t=$((t1 - t0)) -v hz="$hz" 'BEGIN{printf "%.2f", t/hz}') s"
groups=go.opentelemetry.io/collector/pdata,google.golang.org/grpc,go.opentelemetry.io/collector/exporter,go.opentelemetry.io/collector/receiver,github.com/otelcol-gateway,go.opentelemetry.io/collector/processor,go.opentelemetry.io/collector/service,go.opentelemetry.io/collector/connector,runtime
perf script -i "$out/perf.data" -F ip 2>/dev/null | (cd "$bench" && go run ./cmd/perfsym -bin "$bin" -n "${PERFSYM_LINES:-60}" -group "$groups")

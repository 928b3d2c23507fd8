#!/usr/bin/env bash
# profile.sh: perf profile of one benchmark collector under unthrottled trace
# (or, with SIGNAL=metrics, metric) load, as in docs/benchmarks.md ("Where
# the gap to the floor goes"). Run from the repository's root after
# `make build bench-stock` and `cd bench && go build -o results/bench-e2e ./cmd/bench-e2e`:
#
#   bench/profile.sh floor      # the stock otlp receiver -> nop (bench/stock/floor.yaml)
#   bench/profile.sh floor-otlp
#   bench/profile.sh gateway    # otelcol-gateway on bench/testdata/krakend.json
#   SIGNAL=metrics bench/profile.sh gateway
#   GATEWAY=/path/to/otelcol-gateway bench/profile.sh gateway   # another build
#   RATE=20000 bench/profile.sh gateway   # a fixed rate (items/s) instead of unthrottled
#
# `bench-e2e -serve` starts the collector exactly as a benchmark round does
# (GOMAXPROCS=1, the harness's sink); this script sends unthrottled load for
# 24 s, records 15 s of it with perf at 499 Hz, and prints the collector's
# CPU over the recording (from /proc), the load's accepted rate and the top
# lists of bench/cmd/perfsym, grouped by package. Needs perf (Debian:
# linux-perf) and the permission to record another process.
set -euo pipefail

pipeline=${1:?usage: bench/profile.sh floor|floor-otlp|gateway [out-dir]}
signal=${SIGNAL:-traces}
root=$(cd "$(dirname "$0")/.." && pwd)
bench=$root/bench
harness=$bench/results/bench-e2e
out=${2:-$bench/results/profile-$pipeline-$signal}
mkdir -p "$out"
[[ -x $harness ]] || { echo "missing $harness: see the usage at the top of $0" >&2; exit 2; }
command -v perf >/dev/null || { echo "perf is not installed" >&2; exit 2; }

# bench-e2e resolves the default binary and configuration paths from bench/.
cd "$bench"
./results/bench-e2e -serve "$pipeline" ${GATEWAY:+-gateway "$GATEWAY"} -out "$out" >"$out/serve.out" 2>"$out/serve.err" &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
for _ in $(seq 100); do
	[[ -s $out/serve.out ]] && break
	kill -0 "$server" 2>/dev/null || break
	sleep 0.1
done
read -r receiver collector < <(sed -n 's/^receiver=\(.*\) pid=\(.*\)$/\1 \2/p' "$out/serve.out") || true
[[ -n ${collector:-} ]] || { echo "the collector did not start:" >&2; cat "$out/serve.err" >&2; exit 1; }
sleep 3

GOMAXPROCS=2 ./results/bench-e2e load -endpoint "$receiver" -signal "$signal" -rate "${RATE:-0}" -duration 24s >"$out/load.log" 2>&1 &
load=$!
sleep 5 # past the warm-up
ticks() { awk '{print $14 + $15}' "/proc/$collector/stat"; }
t0=$(ticks)
perf record -F "${PERF_HZ:-499}" -g -p "$collector" -o "$out/perf.data" -- sleep 15 2>"$out/perf.err"
t1=$(ticks)
wait "$load"

bin=$(readlink "/proc/$collector/exe")
hz=$(getconf CLK_TCK)
echo "# $pipeline: $(tail -1 "$out/load.log" | sed 's/^[0-9/: ]*//'); collector CPU over the 15 s recorded: $(awk -v t=$((t1 - t0)) -v hz="$hz" 'BEGIN{printf "%.2f", t/hz}') s"
groups=go.opentelemetry.io/collector/pdata,google.golang.org/grpc,go.opentelemetry.io/collector/exporter,go.opentelemetry.io/collector/receiver,github.com/otelcol-gateway,go.opentelemetry.io/collector/processor,go.opentelemetry.io/collector/service,go.opentelemetry.io/collector/connector,runtime
perf script -i "$out/perf.data" -F ip 2>/dev/null | go run ./cmd/perfsym -bin "$bin" -n "${PERFSYM_LINES:-60}" -group "$groups"

#!/bin/bash
# The Datadog overlay against the translation's datadog destination, side by
# side: the benchmark's gateway (testdata/krakend.json, 25 % sampling), the
# same OTLP sinks, Datadog's intake replaced by cmd/ddsink, GOMAXPROCS=1,
# the two variants alternating over ROUNDS rounds. For each: the collector's
# CPU (from /proc) over 15 s at 20k spans/s and unthrottled, and the spans/s
# the load reached.
#
#   make build && cd bench && go build -o results/bench-e2e ./cmd/bench-e2e &&
#   go build -o results/ddsink ./cmd/ddsink && ./datadog-ab.sh
set -euo pipefail
cd "$(dirname "$0")"
rounds=${ROUNDS:-3}
bin=../cmd/otelcol-gateway/otelcol-gateway
out=${OUT:-results/datadog-ab}
mkdir -p "$out"
for f in "$bin" results/bench-e2e results/ddsink; do
	[[ -x $f ]] || { echo "missing $f: see the usage at the top of $0" >&2; exit 2; }
done

./results/ddsink >"$out/ddsink.addr" 2>"$out/ddsink.err" &
ddsink=$!
./results/bench-e2e sink >"$out/sink.addr" 2>"$out/sink.err" &
sink=$!
collector=
# a round that fails midway must not leave its collector running
trap 'kill "$ddsink" "$sink" $collector 2>/dev/null || true' EXIT
sleep 1
export DDSINK DD_API_KEY=bench DD_HOSTNAME=bench
DDSINK=$(head -1 "$out/ddsink.addr")
sinkaddr=$(head -1 "$out/sink.addr")
cat >"$out/dd-local.yaml" <<'YAML'
exporters:
  datadog:
    metrics:
      endpoint: http://${env:DDSINK}
    traces:
      endpoint: http://${env:DDSINK}
    logs:
      endpoint: http://${env:DDSINK}
YAML
port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

for round in $(seq "$rounds"); do
	for variant in overlay destination; do
		if [[ $variant == overlay ]]; then
			args=(--config krakend:testdata/krakend.json --config file:../config/overlays/datadog.yaml)
		else
			args=(--config 'krakend:testdata/krakend.json?destination=datadog')
		fi
		args+=(--config file:testdata/gateway-overlay.yaml --config "file:$out/dd-local.yaml")
		receiver=127.0.0.1:$(port)
		health=$(port)
		GOMAXPROCS=1 BENCH_RECEIVER=$receiver BENCH_TRACES_SINK=$sinkaddr BENCH_METRICS_SINK=$sinkaddr \
			BENCH_SELF_METRICS_PORT=$(port) BENCH_HEALTH_PORT=$health \
			"$bin" "${args[@]}" >"$out/round$round-$variant.log" 2>&1 &
		collector=$!
		for _ in $(seq 100); do curl -sf "http://127.0.0.1:$health/" >/dev/null && break; sleep 0.2; done
		sleep 2
		for rate in 20000 0; do
			t0=$(ticks "$collector")
			load=$(GOMAXPROCS=1 ./results/bench-e2e load -endpoint "$receiver" -signal traces -rate "$rate" -duration 15s 2>&1 | tail -1)
			t1=$(ticks "$collector")
			echo "round=$round variant=$variant rate=$rate collector_cpu_s=$(awk -v t=$((t1 - t0)) -v hz="$hz" 'BEGIN{printf "%.2f", t/hz}') load: ${load#* * }"
		done
		kill -INT "$collector"
		wait "$collector" 2>/dev/null || true
		collector=
	done
done

# syntax=docker/dockerfile:1
#
# otelcol-gateway's container image.
#
#   docker build -t otelcol-gateway:dev .
#   docker run --rm -p 4317:4317 -p 4318:4318 -p 9090:9090 -p 13133:13133 otelcol-gateway:dev
#   docker run --rm -v $PWD/krakend.json:/etc/krakend/krakend.json:ro otelcol-gateway:dev \
#       --config=krakend:/etc/krakend/krakend.json
#
# The build stage runs `make build`, the target CI tests: it installs the pinned
# ocb, generates cmd/otelcol-gateway from builder-config.yaml and compiles it.
# ocb compiles with CGO_ENABLED=0 unless builder-config.yaml sets
# dist.cgo_enabled (it does not): the binary is static, so the runtime stage is
# distroless/static, which has no libc, shell or package manager.
# The compile needs about 5 GB of memory (see VERSIONS.md): give the builder that much.

ARG GO_VERSION=1.25

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# the module proxy used by the project serves no checksum database; every
# module is pinned by a committed go.sum
ENV GOSUMDB=off GOFLAGS=-buildvcs=false CGO_ENABLED=0
# dependencies first: this layer stays cached while only the sources change
COPY go.mod go.sum ./
COPY cmd/otelcol-gateway/go.mod cmd/otelcol-gateway/go.sum ./cmd/otelcol-gateway/
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download && (cd cmd/otelcol-gateway && go mod download)
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    make build && cp cmd/otelcol-gateway/otelcol-gateway /otelcol-gateway
# distroless has no curl: the HEALTHCHECK is a small static Go program
RUN --mount=type=cache,target=/root/.cache/go-build \
    cd deploy/healthcheck && go build -trimpath -ldflags='-s -w' -o /healthcheck .

FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.title="otelcol-gateway" \
      org.opencontainers.image.description="OpenTelemetry Collector distribution for API gateway telemetry (KrakenD first)" \
      org.opencontainers.image.source="https://github.com/otelcol-gateway/otelcol-gateway"
COPY --from=build /otelcol-gateway /otelcol-gateway
COPY --from=build /healthcheck /healthcheck
# the overlays for destinations krakend.json cannot name (Tempo, X-Ray, Datadog, Azure Monitor)
COPY config/overlays/*.yaml /etc/otelcol-gateway/overlays/
# distroless's nonroot user, numeric so that Kubernetes' runAsNonRoot can check it
USER 65532:65532
# OTLP gRPC, OTLP HTTP, the Prometheus exporter, the collector's own metrics, health check
EXPOSE 4317 4318 9090 8888 13133
# the health_check extension answers 200 on :13133 once the pipelines run, 503 before
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/healthcheck", "http://127.0.0.1:13133/"]
# with no --config the binary runs its embedded default configuration
ENTRYPOINT ["/otelcol-gateway"]

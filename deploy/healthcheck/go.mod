module github.com/otelcol-gateway/otelcol-gateway/deploy/healthcheck

go 1.25.0

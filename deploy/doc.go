// Package deploy holds no code: its tests check the deployment files beside
// it (the repository's Dockerfile, the Kubernetes manifests, the systemd unit
// and the compose stack). It is its own module so that the Kubernetes API
// types it decodes the manifests with never enter the root module.
//
//	go test -skip '^TestBinary' ./...                        # the files alone
//	OTELCOL_GATEWAY_BIN=$PWD/../cmd/otelcol-gateway/otelcol-gateway go test ./...   # and the collector configurations, by the built binary
package deploy

package gatewayreceiver

import (
	"context"
	"errors"
	"net"
	"net/http"
	"runtime"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"
	"google.golang.org/grpc"
)

// gatewayReceiver serves OTLP over gRPC and HTTP for every signal that a
// pipeline asked for, enriching each request before handing it on.
type gatewayReceiver struct {
	cfg      *Config
	settings receiver.Settings
	enricher *enricher

	nextTraces  consumer.Traces
	nextMetrics consumer.Metrics
	nextLogs    consumer.Logs

	obsGRPC *receiverhelper.ObsReport
	obsHTTP *receiverhelper.ObsReport

	serverGRPC *grpc.Server
	serverHTTP *http.Server

	startOnce    sync.Once
	startErr     error
	shutdownOnce sync.Once
	shutdownErr  error
	forget       func()
	serving      sync.WaitGroup
}

func newGatewayReceiver(cfg *Config, set receiver.Settings, forget func()) (*gatewayReceiver, error) {
	r := &gatewayReceiver{cfg: cfg, settings: set, forget: forget}
	var err error
	if r.obsGRPC, err = receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID: set.ID, Transport: "grpc", ReceiverCreateSettings: set,
	}); err != nil {
		return nil, err
	}
	if r.obsHTTP, err = receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID: set.ID, Transport: "http", ReceiverCreateSettings: set,
	}); err != nil {
		return nil, err
	}
	if r.enricher, err = newEnricher(cfg, set.TelemetrySettings); err != nil {
		return nil, err
	}
	return r, nil
}

// Start starts the servers once, however many pipelines share the receiver.
func (r *gatewayReceiver) Start(ctx context.Context, host component.Host) error {
	r.startOnce.Do(func() {
		if err := r.startGRPC(ctx, host); err != nil {
			r.startErr = err
			return
		}
		if err := r.startHTTP(ctx, host); err != nil {
			r.startErr = errors.Join(err, r.stopServers(ctx))
		}
	})
	return r.startErr
}

// minStreamWorkers covers the requests a few gateways have in flight at
// once (an SDK's batch exporter sends one at a time).
const minStreamWorkers = 8

func (r *gatewayReceiver) startGRPC(ctx context.Context, host component.Host) error {
	if !r.cfg.Protocols.GRPC.HasValue() {
		return nil
	}
	grpcCfg := r.cfg.Protocols.GRPC.Get()
	var err error
	// Requests run on long-lived goroutines whose stacks stay grown: with a
	// goroutine per request, as gRPC does by default, every request grows a
	// new stack through the decoder and the whole pipeline, which it runs,
	// copying it at each step (runtime.morestack: 3.6 % of the collector's
	// CPU at 20k spans/s, against 2.0 % for the stock otlp receiver). A
	// request that finds every worker busy gets a goroutine of its own;
	// idle workers cost their stacks only, which the GC shrinks.
	opts := []configgrpc.ToServerOption{configgrpc.WithGrpcServerOption(grpc.NumStreamWorkers(uint32(max(minStreamWorkers, runtime.GOMAXPROCS(0)))))}
	for _, o := range serverBufferOptions() {
		opts = append(opts, configgrpc.WithGrpcServerOption(o))
	}
	if r.serverGRPC, err = grpcCfg.ToServer(ctx, host.GetExtensions(), r.settings.TelemetrySettings, opts...); err != nil {
		return err
	}
	if r.nextTraces != nil {
		r.serverGRPC.RegisterService(&traceServiceDesc, &tracesService{r: r, obs: r.obsGRPC})
	}
	if r.nextMetrics != nil {
		r.serverGRPC.RegisterService(&metricsServiceDesc, &metricsService{r: r, obs: r.obsGRPC})
	}
	if r.nextLogs != nil {
		r.serverGRPC.RegisterService(&logsServiceDesc, &logsService{r: r, obs: r.obsGRPC})
	}
	ln, err := grpcCfg.NetAddr.Listen(ctx)
	if err != nil {
		return err
	}
	r.settings.Logger.Info("Starting gRPC server", zap.String("endpoint", ln.Addr().String()))
	r.serving.Go(func() {
		if err := r.serverGRPC.Serve(ln); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(err))
		}
	})
	return nil
}

func (r *gatewayReceiver) startHTTP(ctx context.Context, host component.Host) error {
	if !r.cfg.Protocols.HTTP.HasValue() {
		return nil
	}
	httpCfg := r.cfg.Protocols.HTTP.Get()
	mux := http.NewServeMux()
	if r.nextTraces != nil {
		mux.HandleFunc(string(httpCfg.TracesURLPath), r.handleTraces)
	}
	if r.nextMetrics != nil {
		mux.HandleFunc(string(httpCfg.MetricsURLPath), r.handleMetrics)
	}
	if r.nextLogs != nil {
		mux.HandleFunc(string(httpCfg.LogsURLPath), r.handleLogs)
	}
	var err error
	if r.serverHTTP, err = httpCfg.ServerConfig.ToServer(ctx, host.GetExtensions(), r.settings.TelemetrySettings, mux,
		confighttp.WithErrorHandler(r.writeTransportError)); err != nil {
		return err
	}
	var ln net.Listener
	if ln, err = httpCfg.ServerConfig.ToListener(ctx); err != nil {
		return err
	}
	r.settings.Logger.Info("Starting HTTP server", zap.String("endpoint", ln.Addr().String()))
	r.serving.Go(func() {
		if err := r.serverHTTP.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(err))
		}
	})
	return nil
}

// Shutdown stops the servers once; requests in flight finish first.
func (r *gatewayReceiver) Shutdown(ctx context.Context) error {
	r.shutdownOnce.Do(func() {
		r.shutdownErr = r.stopServers(ctx)
		if r.forget != nil {
			r.forget()
		}
	})
	return r.shutdownErr
}

func (r *gatewayReceiver) stopServers(ctx context.Context) error {
	var err error
	if r.serverHTTP != nil {
		err = r.serverHTTP.Shutdown(ctx)
	}
	if r.serverGRPC != nil {
		r.serverGRPC.GracefulStop()
	}
	r.serving.Wait()
	return err
}

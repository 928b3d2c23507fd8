package gatewayreceiver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

const (
	formatProtobuf = "protobuf"
	formatJSON     = "json"

	contentTypeProtobuf = "application/x-protobuf"
	contentTypeJSON     = "application/json"

	// defaultRetryAfter is what a refused request is told to wait when the
	// pipeline gave no delay of its own (the memory limiter gives none).
	defaultRetryAfter = time.Second
)

// otlpMessage is what the request and response types of every signal share.
type otlpMessage interface {
	UnmarshalProto([]byte) error
	UnmarshalJSON([]byte) error
}

type otlpReply interface {
	MarshalProto() ([]byte, error)
	MarshalJSON() ([]byte, error)
}

func (r *gatewayReceiver) handleTraces(w http.ResponseWriter, req *http.Request) {
	msg := &tracesRequest{}
	r.serveOTLP(w, req, "traces", msg, ptraceotlp.NewExportResponse(), func(ctx context.Context, format string) error {
		return r.consumeTraces(ctx, r.obsHTTP, format, msg.traces())
	})
}

func (r *gatewayReceiver) handleMetrics(w http.ResponseWriter, req *http.Request) {
	msg := &metricsRequest{}
	r.serveOTLP(w, req, "metrics", msg, pmetricotlp.NewExportResponse(), func(ctx context.Context, format string) error {
		return r.consumeMetrics(ctx, r.obsHTTP, format, msg.metrics())
	})
}

func (r *gatewayReceiver) handleLogs(w http.ResponseWriter, req *http.Request) {
	msg := &logsRequest{}
	r.serveOTLP(w, req, "logs", msg, plogotlp.NewExportResponse(), func(ctx context.Context, format string) error {
		return r.consumeLogs(ctx, r.obsHTTP, format, msg.logs())
	})
}

// serveOTLP decodes one OTLP/HTTP request into msg, consumes it and answers in
// the request's own encoding. Every refusal says why, with the status the
// OTLP specification gives it, and is counted.
func (r *gatewayReceiver) serveOTLP(w http.ResponseWriter, req *http.Request, signal string, msg otlpMessage, reply otlpReply, consume func(context.Context, string) error) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		r.refuse(w, replyFormat(req), signal, "method", status.New(codes.InvalidArgument,
			fmt.Sprintf("method %s not allowed: OTLP/HTTP takes POST", req.Method)), http.StatusMethodNotAllowed)
		return
	}
	format := formatOf(req.Header.Get("Content-Type"))
	if format == "" {
		r.refuse(w, formatJSON, signal, "content_type", status.New(codes.InvalidArgument,
			fmt.Sprintf("unsupported content type %q: OTLP/HTTP takes %s or %s", req.Header.Get("Content-Type"), contentTypeProtobuf, contentTypeJSON)),
			http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			r.refuse(w, format, signal, "too_large", status.New(codes.InvalidArgument,
				fmt.Sprintf("request body larger than max_request_body_size (%d bytes)", tooLarge.Limit)), http.StatusRequestEntityTooLarge)
			return
		}
		r.refuse(w, format, signal, "unreadable", status.New(codes.InvalidArgument,
			fmt.Sprintf("reading request body: %v", err)), http.StatusBadRequest)
		return
	}
	if format == formatProtobuf {
		err = msg.UnmarshalProto(body)
	} else {
		err = msg.UnmarshalJSON(body)
	}
	if err != nil {
		r.refuse(w, format, signal, "malformed", status.New(codes.InvalidArgument,
			fmt.Sprintf("malformed OTLP %s %s request: %v", format, signal, err)), http.StatusBadRequest)
		return
	}
	if err := consume(req.Context(), format); err != nil {
		st := statusFromError(err)
		writeStatus(w, format, st, httpStatusOf(st.Code()))
		return
	}
	var out []byte
	if format == formatProtobuf {
		out, err = reply.MarshalProto()
	} else {
		out, err = reply.MarshalJSON()
	}
	if err != nil {
		writeStatus(w, format, status.New(codes.Internal, err.Error()), http.StatusInternalServerError)
		return
	}
	writeBody(w, format, http.StatusOK, out)
}

func (r *gatewayReceiver) refuse(w http.ResponseWriter, format, signal, reason string, st *status.Status, code int) {
	r.enricher.countRefused(signal, reason)
	writeStatus(w, format, st, code)
}

// replyFormat is the encoding of a refusal: the request's, JSON when it has
// none the receiver reads.
func replyFormat(req *http.Request) string {
	if format := formatOf(req.Header.Get("Content-Type")); format != "" {
		return format
	}
	return formatJSON
}

func formatOf(contentType string) string {
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	switch mediaType {
	case contentTypeProtobuf:
		return formatProtobuf
	case contentTypeJSON:
		return formatJSON
	}
	return ""
}

// httpStatusOf follows the OTLP specification's table of retryable codes.
func httpStatusOf(c codes.Code) int {
	switch c {
	case codes.Canceled, codes.DeadlineExceeded, codes.Aborted, codes.OutOfRange, codes.Unavailable, codes.DataLoss:
		return http.StatusServiceUnavailable
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.InvalidArgument:
		return http.StatusBadRequest
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.Unimplemented:
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

// writeStatus answers with a google.rpc.Status body, as OTLP/HTTP asks, and
// tells a retryable refusal when to come back.
func writeStatus(w http.ResponseWriter, format string, st *status.Status, code int) {
	if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
		delay := defaultRetryAfter
		for _, d := range st.Details() {
			if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
				delay = ri.GetRetryDelay().AsDuration()
			}
		}
		secs := int64((delay + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
	}
	// A decoder's message may quote the bad bytes; protobuf strings must be
	// UTF-8, or the status itself could not be encoded.
	msg := st.Proto()
	msg.Message = strings.ToValidUTF8(msg.Message, "\uFFFD")
	var body []byte
	var err error
	if format == formatProtobuf {
		body, err = proto.Marshal(msg)
	} else {
		body, err = protojson.Marshal(msg)
	}
	if err != nil {
		body, format = []byte(`{"code":13,"message":"failed to encode the error status"}`), formatJSON
	}
	writeBody(w, format, code, body)
}

func writeBody(w http.ResponseWriter, format string, code int, body []byte) {
	if format == formatProtobuf {
		w.Header().Set("Content-Type", contentTypeProtobuf)
	} else {
		w.Header().Set("Content-Type", contentTypeJSON)
	}
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// writeTransportError answers refusals made by confighttp itself (an
// unsupported or broken Content-Encoding, an auth failure) in OTLP's shape,
// and counts them as the receiver's own refusals are counted.
func (r *gatewayReceiver) writeTransportError(w http.ResponseWriter, req *http.Request, msg string, code int) {
	reason := "unreadable"
	switch {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		reason = "auth"
	case code == http.StatusBadRequest && (strings.Contains(msg, "exceeds max request body size") ||
		strings.Contains(msg, (&http.MaxBytesError{}).Error())):
		// confighttp's snappy decoder sizes the body, then reads all of it
		// before the receiver does: a body too large, decoded or not, as
		// for every other encoding
		reason, code = "too_large", http.StatusRequestEntityTooLarge
	}
	c := codes.Unknown
	switch code {
	case http.StatusBadRequest, http.StatusUnsupportedMediaType, http.StatusRequestEntityTooLarge:
		c = codes.InvalidArgument
	case http.StatusUnauthorized:
		c = codes.Unauthenticated
	case http.StatusForbidden:
		c = codes.PermissionDenied
	case http.StatusTooManyRequests:
		c = codes.ResourceExhausted
	case http.StatusServiceUnavailable:
		c = codes.Unavailable
	}
	r.refuse(w, replyFormat(req), r.signalOfPath(req.URL.Path), reason, status.New(c, msg), code)
}

// signalOfPath names the signal a request was sent for, "unknown" for a
// path no signal listens on.
func (r *gatewayReceiver) signalOfPath(path string) string {
	h := r.cfg.Protocols.HTTP.Get()
	switch path {
	case string(h.TracesURLPath):
		return "traces"
	case string(h.MetricsURLPath):
		return "metrics"
	case string(h.LogsURLPath):
		return "logs"
	}
	return "unknown"
}

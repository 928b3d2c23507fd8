package startuppagesextension // import "github.com/otelcol-gateway/otelcol-gateway/extension/startuppagesextension"

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.uber.org/zap"
)

// errUnsupported is what release returns where the kernel cannot page out a
// mapping on request (not Linux, or Linux before 5.4).
var errUnsupported = errors.New("paging out on request needs Linux 5.4 or later")

// released is what one release did, in bytes.
type released struct {
	advised        uint64 // the executable's read-only mappings
	residentBefore uint64 // the process's file pages resident before
	residentAfter  uint64 // and after
}

type startupPages struct {
	logger  *zap.Logger
	release func() (released, error)
}

func (*startupPages) Start(context.Context, component.Host) error { return nil }

func (*startupPages) Shutdown(context.Context) error { return nil }

// Ready runs once every pipeline has started, when start-up's pages are no
// longer needed. A failure is logged, never returned: the collector runs the
// same with the pages resident.
func (s *startupPages) Ready() error {
	r, err := s.release()
	switch {
	case errors.Is(err, errUnsupported):
		s.logger.Info("Start-up pages stay resident: " + err.Error())
	case err != nil:
		s.logger.Warn("Start-up pages stay resident", zap.Error(err))
	default:
		s.logger.Info("Released the executable's start-up pages",
			zap.Uint64("executable_mib", r.advised>>20),
			zap.Uint64("file_pages_resident_before_mib", r.residentBefore>>20),
			zap.Uint64("file_pages_resident_after_mib", r.residentAfter>>20))
	}
	return nil
}

func (*startupPages) NotReady() error { return nil }

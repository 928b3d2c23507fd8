package startuppagesextension

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestReadyLogsWhatWasReleased(t *testing.T) {
	tests := []struct {
		name    string
		release func() (released, error)
		level   zapcore.Level
		message string
		fields  map[string]any
	}{
		{
			name: "released",
			release: func() (released, error) {
				return released{advised: 88 << 20, residentBefore: 50 << 20, residentAfter: 3 << 20}, nil
			},
			level:   zapcore.InfoLevel,
			message: "Released the executable's start-up pages",
			fields:  map[string]any{"executable_mib": uint64(88), "file_pages_resident_before_mib": uint64(50), "file_pages_resident_after_mib": uint64(3)},
		},
		{
			name:    "a kernel that cannot page out is not a fault",
			release: func() (released, error) { return released{}, errUnsupported },
			level:   zapcore.InfoLevel,
			message: "Start-up pages stay resident: " + errUnsupported.Error(),
			fields:  map[string]any{},
		},
		{
			name:    "any other failure is a warning",
			release: func() (released, error) { return released{}, errors.New("no mapping") },
			level:   zapcore.WarnLevel,
			message: "Start-up pages stay resident",
			fields:  map[string]any{"error": "no mapping"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.DebugLevel)
			ext := &startupPages{logger: zap.New(core), release: tt.release}
			require.NoError(t, ext.Ready(), "Ready never fails the collector")
			require.Equal(t, 1, logs.Len())
			entry := logs.All()[0]
			require.Equal(t, tt.level, entry.Level)
			require.Equal(t, tt.message, entry.Message)
			require.Equal(t, tt.fields, entry.ContextMap())
		})
	}
}

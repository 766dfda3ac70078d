package main

import (
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/cliser/cliser/internal/logsink"
)

// newLogger builds the process's zap logger: JSON by default, console for
// people; always to stderr, so stdout stays free for command output. Its
// sink keeps the writes that failed (serve shows them in /readyz and
// /metrics).
func newLogger(level, format string) (*zap.Logger, *logsink.Sink, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, nil, configErrorf("--log-level %q: want debug, info, warn or error", level)
	}
	var (
		enc  zapcore.Encoder
		opts = []zap.Option{zap.AddCaller(), zap.ErrorOutput(zapcore.Lock(os.Stderr))}
	)
	switch format {
	case "json":
		enc = zapcore.NewJSONEncoder(encoderConfig(zap.NewProductionEncoderConfig()))
	case "console":
		enc = zapcore.NewConsoleEncoder(encoderConfig(zap.NewDevelopmentEncoderConfig()))
		opts = append(opts, zap.Development())
	default:
		return nil, nil, configErrorf("--log-format %q: want json or console", format)
	}
	// No stack traces: an error line is a condition for an operator (a
	// refused password, a store that fails), not a bug, and its message
	// says what to do. No sampling: every register and disconnect line
	// counts.
	sink := logsink.New(os.Stderr, "stderr")
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(sink), zap.NewAtomicLevelAt(lvl)), opts...), sink, nil
}

func encoderConfig(c zapcore.EncoderConfig) zapcore.EncoderConfig {
	c.TimeKey = "ts"
	c.EncodeTime = zapcore.ISO8601TimeEncoder
	return c
}

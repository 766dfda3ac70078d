package main

import (
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newLogger builds the process's zap logger: JSON by default, console for
// people; always to stderr, so stdout stays free for command output.
func newLogger(level, format string) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, configErrorf("--log-level %q: want debug, info, warn or error", level)
	}
	var cfg zap.Config
	switch format {
	case "json":
		cfg = zap.NewProductionConfig()
	case "console":
		cfg = zap.NewDevelopmentConfig()
	default:
		return nil, configErrorf("--log-format %q: want json or console", format)
	}
	// An error line is a condition for an operator (a refused password, a
	// store that fails), not a bug: its message says what to do, and a
	// stack trace of our own call path would bury it.
	cfg.DisableStacktrace = true
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	cfg.EncoderConfig.TimeKey = "ts"
	cfg.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	cfg.Sampling = nil // every register and disconnect line counts
	return cfg.Build()
}

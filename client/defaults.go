package client

// OrDefault is v, or def when v is zero or negative: how every optional
// duration and count of Config and Backoff gets its default (an
// unset field, or one no run could use). Exported so that other configs
// built on this client fill theirs the same way. Goroutine-safe.
func OrDefault[T ~int | ~int64 | ~float64](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

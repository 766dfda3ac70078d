package testkit

import "sync"

// List is a goroutine-safe list that tests append to from callbacks and
// read back for assertions. The zero value is ready to use.
type List[T any] struct {
	mu    sync.Mutex
	items []T
}

// Add appends v. Safe from any goroutine.
func (l *List[T]) Add(v T) {
	l.mu.Lock()
	l.items = append(l.items, v)
	l.mu.Unlock()
}

// All returns a copy of what was added so far, in order. Safe from any
// goroutine.
func (l *List[T]) All() []T {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]T(nil), l.items...)
}

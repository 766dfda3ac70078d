//go:build !unix

package identity

// mapBytes: without mmap the table lives on the Go heap.
func mapBytes(int) []byte { return nil }

func unmapBytes([]byte) {}

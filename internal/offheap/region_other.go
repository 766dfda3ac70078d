//go:build !unix

package offheap

// mapBytes: without mmap the bytes live on the Go heap.
func mapBytes(int, bool) []byte { return nil }

func unmapBytes([]byte) {}

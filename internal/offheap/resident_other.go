//go:build !linux

package offheap

import "errors"

// residentPages: only Linux's mincore is used here.
func residentPages([]byte) (int, error) {
	return 0, errors.New("offheap: resident pages are read on Linux only")
}

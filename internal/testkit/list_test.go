package testkit

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Adds from many goroutines all arrive, and All is a copy the list's later
// adds do not change.
func TestListConcurrentAddsAndCopy(t *testing.T) {
	var l List[int]
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 100 {
				l.Add(i*100 + j)
			}
		}()
	}
	wg.Wait()
	got := l.All()
	assert.Len(t, got, 800)
	l.Add(-1)
	assert.Len(t, got, 800)
	assert.Len(t, l.All(), 801)
}

package testkit

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestWaitLogWaitsForTheLaterWrite(t *testing.T) {
	var b LockedBuffer
	go func() {
		time.Sleep(50 * time.Millisecond) // a line still on its way
		_, _ = b.Write([]byte("first\nsecond\n"))
	}()
	WaitLog(t, 10*time.Second, b.String, "first", "second")
	assert.Contains(t, b.String(), "second")
}

// fatalRecorder is a testing.TB whose Fatalf records instead of ending
// the test.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) { r.msg = fmt.Sprintf(format, args...) }

func TestWaitLogFailsNamingWhatIsMissing(t *testing.T) {
	var b LockedBuffer
	_, _ = b.Write([]byte("only this\n"))
	r := &fatalRecorder{TB: t}
	began := time.Now()
	WaitLog(r, 100*time.Millisecond, b.String, "only this", "never said")
	assert.Less(t, time.Since(began), 5*time.Second)
	assert.Contains(t, r.msg, `not logged within 100ms: ["never said"]`)
	assert.Contains(t, r.msg, "only this")
}

package procfs

import (
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRSSOfThisProcessAndByPid(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux's")
	}
	anon, file := RSS(0)
	assert.Positive(t, anon, "a Go process has a heap")
	assert.Positive(t, file, "and its executable mapped")
	anon, file = RSS(os.Getpid())
	assert.Positive(t, anon)
	assert.Positive(t, file)
	anon, file = RSS(1 << 30)
	assert.Zero(t, anon+file, "no such process")
}

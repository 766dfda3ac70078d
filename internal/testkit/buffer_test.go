package testkit

import (
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLockedBufferKeepsEveryConcurrentWrite(t *testing.T) {
	var b LockedBuffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = fmt.Fprintf(&b, "%d\n", i)
			_ = b.String()
		}()
	}
	wg.Wait()
	assert.Len(t, b.String(), 16)
}

func TestExitCode(t *testing.T) {
	assert.Equal(t, 0, ExitCode(nil))
	err := exec.Command("sh", "-c", "exit 3").Run()
	require.Error(t, err)
	assert.Equal(t, 3, ExitCode(err))
	assert.Equal(t, -1, ExitCode(errors.New("not an exit")))
}

package admin

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/registry"
)

// A listener that dies under the API is said when it dies, not only by
// the stop that reads its error (review: it was silent until then).
func TestServeSaysAListenerThatStopped(t *testing.T) {
	core, logs := observer.New(zapcore.ErrorLevel)
	a := New(registry.New(), WithLogger(zap.New(core)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := a.serve(ln)
	require.NoError(t, ln.Close())
	require.Eventually(t, func() bool { return logs.FilterMessageSnippet("the HTTP listener stopped").Len() == 1 },
		5*time.Second, 5*time.Millisecond, "%v", logs.All())
	assert.Error(t, s.Shutdown(t.Context()), "the stop still returns the listener's error")
}

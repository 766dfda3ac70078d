package testkit

import (
	"net"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/tied"
)

// HAProxy runs haproxy in the foreground (-db) and waits until its
// frontend accepts connections.
func HAProxy(t *testing.T, bin, cfgPath, front string) {
	t.Helper()
	check, err := exec.Command(bin, "-c", "-f", cfgPath).CombinedOutput()
	require.NoError(t, err, "haproxy -c: %s", check)
	cmd := exec.Command(bin, "-f", cfgPath, "-db")
	var out LockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, tied.Start(cmd))
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("haproxy exited: %v\n%s", err, out.String())
		default:
		}
		c, err := net.DialTimeout("tcp", front, time.Second)
		if err == nil {
			_ = c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy did not listen on %s:\n%s", front, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

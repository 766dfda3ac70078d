package logstore_test

import (
	"context"
	"fmt"
	"os"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
	"github.com/cliser/cliser/registry/logstore"
)

type exampleConn struct{}

func (exampleConn) Shutdown(string) error       { return nil }
func (exampleConn) Close(protocol.Reason) error { return nil }

// How `cliser serve` wires the store: open the data dir, load, run the
// flusher, and on stop end Run (its last flush) before closing the store.
func Example() {
	dir, _ := os.MkdirTemp("", "cliser-data-")
	defer os.RemoveAll(dir)

	for _, run := range []string{"first", "second"} {
		st, err := logstore.Open(dir) // fails with ErrInUse while another cliser holds dir
		if err != nil {
			fmt.Println(err)
			return
		}
		reg := registry.New(registry.WithStore(st))
		n, err := reg.Load()
		if err != nil {
			fmt.Println(err)
			return
		}
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- reg.Run(ctx) }()

		if run == "first" {
			_, _, _ = reg.Register("pos-0042", "127.0.0.1", "53122", exampleConn{})
		}
		rec, _ := reg.Get("pos-0042")
		fmt.Printf("%s run: loaded %d, pos-0042 connected=%v reason=%q\n", run, n, rec.CStatus, rec.Reason)

		stop()
		if err := <-done; err != nil { // Run flushed one last time
			fmt.Println(err)
		}
		_ = st.Close()
	}
	// Output:
	// first run: loaded 0, pos-0042 connected=true reason=""
	// second run: loaded 1, pos-0042 connected=false reason="server restarted"
}

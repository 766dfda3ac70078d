package baseline_test

import (
	"bufio"
	"context"
	"net"
	"strconv"
	"testing"
	"time"
)

// BenchmarkPipelinedHandshake measures one connection's whole life through
// the baseline: accept, pipelined handshake, registration, 140, client
// close. The client's cost is in the figure too; compare it with the
// reactor's counterpart, not with an absolute goal.
func BenchmarkPipelinedHandshake(b *testing.B) {
	ts := newServer(b, nil)
	b.Cleanup(func() {
		// b.Context is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = ts.srv.Stop(ctx)
	})
	hello := make([]byte, 0, 64)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		nc, err := net.Dial("tcp", ts.srv.Addr())
		if err != nil {
			b.Fatal(err)
		}
		hello = append(hello[:0], "110 "+testPassword+"\n120 bench-"...)
		hello = append(strconv.AppendInt(hello, int64(i%1000), 10), '\n')
		if _, err := nc.Write(hello); err != nil {
			b.Fatal(err)
		}
		br := bufio.NewReader(nc)
		for range 3 { // 110, 120, 140
			if _, err := br.ReadSlice('\n'); err != nil {
				b.Fatal(err)
			}
		}
		_ = nc.Close()
	}
}

package harness

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCountSocketsFromATable(t *testing.T) {
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 01016F7F:D427 01 00000000:00000000 00:00000000 00000000     0        0 11 1 0
   1: 0100007F:1F90 02016F7F:D428 08 00000000:00000000 00:00000000 00000000     0        0 12 1 0
   2: 0100007F:1F90 03016F7F:D429 09 00000000:00000000 00:00000000 00000000     0        0 0 1 0
   3: 0100007F:1F90 01016E7F:D42A 01 00000000:00000000 00:00000000 00000000     0        0 13 1 0
   4: 0100007F:1F91 01016F7F:D42B 01 00000000:00000000 00:00000000 00000000     0        0 14 1 0
   5: 01016F7F:D42C 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 15 1 0
`
	n, err := countSocketsFrom(strings.NewReader(table), netip.MustParseAddrPort("127.0.0.1:8080"), 111)
	require.NoError(t, err)
	assert.Equal(t, 2, n, "established and close-wait from 127.111/16 on :8080; not LAST_ACK (closed), another net, another port, or the client's side")
	_, err = countSocketsFrom(strings.NewReader("header\n 0: 0100007F 01016F7F:D427 01\n"), netip.MustParseAddrPort("127.0.0.1:8080"), 111)
	assert.Error(t, err)
}

// The kernel's own table: a connection from 127.254.0.1 to a listener is
// counted while open, and not once both ends closed it. 127.254/16 is
// no run's (sourceNet, holdNet): in CI a hold round's server socket from
// 127.111, left on a port this listener then got, was counted too.
func TestServerSocketsFromTheKernel(t *testing.T) {
	const srcNet = 254
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, srcNet, 0, 1)}}
	c, err := d.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	s, err := ln.Accept()
	require.NoError(t, err)
	n, err := serverSocketsFrom(ln.Addr().String(), srcNet)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	require.NoError(t, c.Close())
	require.NoError(t, s.Close())
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err = serverSocketsFrom(ln.Addr().String(), srcNet)
		require.NoError(t, err)
		if n == 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "%d sockets still open", n)
		time.Sleep(10 * time.Millisecond)
	}
}

func FuzzParseProcAddr(f *testing.F) {
	f.Add("0100007F:1F90")
	f.Add("00000000:0000")
	f.Add("zz:1")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parseProcAddr(s)
		if err != nil {
			return
		}
		h, _, _ := strings.Cut(s, ":")
		require.Len(t, h, 8)
		assert.True(t, a.Addr().Is4())
	})
}

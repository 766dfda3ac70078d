package baseline_test

import (
	"net"
	"strconv"
	"time"
)

func formatToken(tok uint64) string { return strconv.FormatUint(tok, 10) }

func dialOnce(addr string) (net.Conn, error) {
	nc, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		_ = nc.Close()
	}
	return nc, err
}

package testkit

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/cliser/cliser/protocol"
)

// PipelinedRegister dials addr from sourceIP ("" lets the system choose),
// sends both handshake answers at once as a pipelining client does, and
// checks the two prompts and the 140 line. It returns the connection
// (open even after a failed handshake: the caller closes it) and the sid.
// It takes no testing.T, so any number of goroutines may call it at once.
func PipelinedRegister(addr, sourceIP, password, id string) (net.Conn, uint16, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	if sourceIP != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(sourceIP)}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, 0, err
	}
	sid, err := answerPipelined(c, password, id)
	return c, sid, err
}

func answerPipelined(c net.Conn, password, id string) (uint16, error) {
	if _, err := c.Write([]byte("110 " + password + "\n120 " + id + "\n")); err != nil {
		return 0, err
	}
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(c)
	var lines []string
	for len(lines) < 3 {
		line, err := r.ReadString('\n')
		if err != nil {
			return 0, fmt.Errorf("after %q: %w", lines, err)
		}
		lines = append(lines, strings.TrimSuffix(line, "\n"))
	}
	if lines[0]+"\n" != protocol.PromptPassword || lines[1]+"\n" != protocol.PromptID {
		return 0, fmt.Errorf("unexpected %q", lines)
	}
	arg, ok := strings.CutPrefix(lines[2], "140 ")
	if !ok {
		return 0, fmt.Errorf("want 140, got %q", lines[2])
	}
	return protocol.ParseConnected([]byte(arg))
}

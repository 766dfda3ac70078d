package admin

import (
	"bufio"
	"io"
	"strings"
)

// sseEvent is one Server-Sent Event as a client reads it.
type sseEvent struct {
	ID    string // the last id: field seen, which stays across events as the spec says
	Event string
	Data  string
}

// maxSSELine bounds one line of a stream: an event of the log is well
// under a kilobyte.
const maxSSELine = 1 << 20

// readSSE reads a text/event-stream (the WHATWG framing: "field: value"
// lines, a blank line dispatches the event, lines starting with ":" are
// comments) and calls fn for every event with data. seen is called with
// every line, comments included, so a caller can tell a live stream from a
// dead one, and read what a comment says. It returns fn's error, the
// reader's, or nil at the end.
func readSSE(r io.Reader, seen func(line string), fn func(sseEvent) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxSSELine)
	var ev sseEvent
	var data strings.Builder
	hasData := false
	for sc.Scan() {
		line := sc.Text()
		if seen != nil {
			seen(line)
		}
		if line == "" {
			if hasData {
				ev.Data = data.String()
				if err := fn(ev); err != nil {
					return err
				}
			}
			ev.Event, ev.Data, hasData = "", "", false
			data.Reset()
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			ev.Event = value
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			data.WriteString(value)
			hasData = true
		case "id":
			if !strings.ContainsRune(value, 0) {
				ev.ID = value
			}
		}
	}
	return sc.Err()
}

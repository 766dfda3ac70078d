package harness

import (
	"context"
	"time"
)

// A burst's window does not end with its last handshake. A server may
// defer part of a handshake's work: cliser's write-behind writes the
// burst's records up to a flush interval (250 ms) after they registered,
// and about half of them used to land after the window (issue 17,
// sessions 8 and 9). So, for every server alike, the window runs on while
// the server stays busier than it was idle before the burst, and what it
// spent there beyond its idle rate is counted with the burst's CPU.

const (
	// tailIdle is how long the server's idle rate is read before a burst.
	tailIdle = 300 * time.Millisecond
	// tailPoll is how often the server is sampled after the last handshake.
	tailPoll = 50 * time.Millisecond
	// tailQuiet ends the tail: this long at the idle rate, longer than
	// cliser's flush interval, so a pending flush is waited for.
	tailQuiet = 300 * time.Millisecond
	// tailBusy is the CPU above the idle rate that makes a poll busy:
	// 10% of a core.
	tailBusy = 0.10
	// tailMargin keeps the tail short of the burst's first keep-alives.
	tailMargin = 150 * time.Millisecond
)

// idleRate is pid's CPU, in cores, over tailIdle.
func idleRate(ctx context.Context, pid int) (float64, error) {
	a, err := sampleProc(pid)
	if err != nil {
		return 0, err
	}
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(tailIdle):
	}
	b, err := sampleProc(pid)
	if err != nil {
		return 0, err
	}
	return rate(a, b), nil
}

// rate is the CPU, in cores, between two samples.
func rate(a, b procSample) float64 {
	secs := b.At.Sub(a.At).Seconds()
	if secs <= 0 {
		return 0
	}
	return (b.CPU - a.CPU).Seconds() / secs
}

// tail is the part of a burst's window after its last handshake.
type tail struct {
	last procSample // the end of the last busy poll: the window's end
	cpu  float64    // CPU seconds from the last handshake to last, net of idle
}

// tailQuietPolls is how many quiet polls in a row tailQuiet is: one
// late poll (the harness itself held off the CPU by a loaded machine)
// spans tailQuiet alone, however busy the server is before and after it.
const tailQuietPolls = int(tailQuiet / tailPoll)

// followTail samples pid from end (the last handshake) on until it has
// been quiet for tailQuiet, over tailQuietPolls polls at least, or the
// limit comes, and returns where it was last busy and what it spent until
// then beyond the idle rate.
func followTail(ctx context.Context, pid int, end procSample, idle float64, limit time.Time) (tail, error) {
	t := tail{last: end}
	prev, quiet := end, 0
	for time.Since(t.last.At) < tailQuiet || quiet < tailQuietPolls {
		wait := min(tailPoll, time.Until(limit))
		if wait <= 0 {
			break
		}
		select {
		case <-ctx.Done():
			return t, ctx.Err()
		case <-time.After(wait):
		}
		s, err := sampleProc(pid)
		if err != nil {
			return t, err
		}
		quiet++
		if rate(prev, s) > idle+tailBusy {
			t.last, quiet = s, 0
		}
		prev = s
	}
	secs := t.last.At.Sub(end.At).Seconds()
	t.cpu = max((t.last.CPU-end.CPU).Seconds()-idle*secs, 0)
	return t, nil
}

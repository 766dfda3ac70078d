package harness

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// promHistogram is one Prometheus histogram as /metrics gives it:
// cumulative counts per upper bound (seconds), ascending, +Inf last.
type promHistogram struct {
	Le    []float64 `json:"le"`
	Cum   []float64 `json:"cumulative"`
	Sum   float64   `json:"sum"`
	Count float64   `json:"count"`
}

// parsePromHistogram reads the histogram called name from Prometheus text.
func parsePromHistogram(r io.Reader, name string) (*promHistogram, error) {
	h := &promHistogram{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	found := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, name+"_bucket{"):
			i := strings.Index(line, `le="`)
			if i < 0 {
				return nil, fmt.Errorf("metrics: bucket without le: %q", line)
			}
			rest := line[i+4:]
			j := strings.IndexByte(rest, '"')
			if j < 0 {
				return nil, fmt.Errorf("metrics: bad le in %q", line)
			}
			le, err := strconv.ParseFloat(rest[:j], 64)
			if err != nil {
				return nil, fmt.Errorf("metrics: bad le in %q", line)
			}
			v, err := lastFloat(line)
			if err != nil {
				return nil, err
			}
			h.Le, h.Cum = append(h.Le, le), append(h.Cum, v)
			found = true
		case strings.HasPrefix(line, name+"_sum"):
			v, err := lastFloat(line)
			if err != nil {
				return nil, err
			}
			h.Sum = v
		case strings.HasPrefix(line, name+"_count"):
			v, err := lastFloat(line)
			if err != nil {
				return nil, err
			}
			h.Count = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("metrics: no histogram %s", name)
	}
	return h, nil
}

func lastFloat(line string) (float64, error) {
	f := strings.Fields(line)
	v, err := strconv.ParseFloat(f[len(f)-1], 64)
	if err != nil {
		return 0, fmt.Errorf("metrics: bad value in %q", line)
	}
	return v, nil
}

// since is what was observed between earlier and h (same buckets).
func (h *promHistogram) since(earlier *promHistogram) *promHistogram {
	if earlier == nil || len(earlier.Le) != len(h.Le) {
		return h
	}
	out := &promHistogram{Le: h.Le, Sum: h.Sum - earlier.Sum, Count: h.Count - earlier.Count}
	for i := range h.Cum {
		out.Cum = append(out.Cum, h.Cum[i]-earlier.Cum[i])
	}
	return out
}

// quantile is the upper bound (seconds) of the bucket holding the q-th
// observation: the true value lies at or below it. +Inf when it is past
// the last finite bucket; NaN when nothing was observed.
func (h *promHistogram) quantile(q float64) float64 {
	if h.Count <= 0 {
		return math.NaN()
	}
	rank := q * h.Count
	for i, c := range h.Cum {
		if c >= rank {
			return h.Le[i]
		}
	}
	return math.Inf(1)
}

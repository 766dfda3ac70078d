package registry

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/cliser/cliser/protocol"
)

var sessionNameGolden = []string{
	"", "0123456789abcdef-1", "0123456789abcdef-zz", "0123456789abcdef-3w5e11264sgsf",
	"abc", "-", "a-", "-1", "a-0", "a-01", "a-Z", "a-1-2", "a--1", "a-3w5e11264sgsg", "a-1 ",
}

// Every name read from the store comes back as it was, whatever its form.
func TestSessionNameRoundTrip(t *testing.T) {
	names := sessionNames{}
	for _, name := range sessionNameGolden {
		assert.Equal(t, name, names.of(name).String(), "%q", name)
	}
}

// One process's names share one prefix: what keeps a record's name off
// the heap.
func TestSessionNamesSharePrefixes(t *testing.T) {
	names := sessionNames{}
	a, b := names.of("0123456789abcdef-1"), names.of("0123456789abcdef-2")
	c := names.of("fedcba9876543210-1")
	assert.Same(t, a.prefix, b.prefix)
	assert.NotSame(t, a.prefix, c.prefix)
	assert.Equal(t, uint64(2), b.n)
	odd := names.of("a-01") // not canonical base 36: kept whole
	assert.Equal(t, uint64(0), odd.n)
}

// A connection that registers again under a known cid (a reconnect, a
// takeover) gets a new name without allocating: the name is the shared
// prefix and a counter.
func TestReRegisterAllocatesNoName(t *testing.T) {
	r := New()
	c := &handle{1}
	_, _, err := r.Register("a", "192.0.2.1", "4000", c)
	assert.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() {
		r.Disconnect("a", c, protocol.ReasonClosedByClient)
		_, _, _ = r.Register("a", "192.0.2.1", "4000", c)
	})
	assert.Zero(t, allocs)
	rec, _ := r.Get("a")
	assert.Equal(t, r.sessionPrefix+"2u", rec.Session, "the 102nd session: AllocsPerRun runs once more to warm up")
}

func FuzzSessionName(f *testing.F) {
	for _, name := range sessionNameGolden {
		f.Add(name)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if got := (sessionNames{}).of(name).String(); got != name {
			t.Fatalf("%q came back as %q", name, got)
		}
	})
}

// appendTo writes what String gives, for every form a name takes.
func TestSessionNameAppendsAsItPrints(t *testing.T) {
	prefix, whole := "0123456789abcdef-", "a name of another form"
	for _, s := range []sessionName{{}, {prefix: &whole}, {prefix: &prefix, n: 1}, {prefix: &prefix, n: 1<<64 - 1}} {
		assert.Equal(t, "x"+s.String(), string(s.appendTo([]byte("x"))))
	}
}

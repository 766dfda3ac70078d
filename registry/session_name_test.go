package registry

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/cliser/cliser/protocol"
)

// internalCIP is the address of this package's own tests' clients, shared
// by pointer as the reactor shares one string per address.
var internalCIP = "192.0.2.1"

var sessionNameGolden = []string{
	"", "0123456789abcdef-1", "0123456789abcdef-zz", "0123456789abcdef-3w5e11264sgsf",
	"abc", "-", "a-", "-1", "a-0", "a-01", "a-Z", "a-1-2", "a--1", "a-3w5e11264sgsg", "a-1 ",
}

// String is s's name as callers see it (portAndName's, without the port).
func (t nameTable) String(s sessionName) string {
	_, name := t.portAndName(0, s, new(textSlab))
	return name
}

// A record's port and name come back as strconv and the name's own text
// give them, cut from the slab: an allocation only when an array is full
// (101 cuts of at most 36 bytes fill at most one). Each was its own
// string before (1 allocation a call).
func TestPortAndNameCutFromTheSlab(t *testing.T) {
	table := newNameTable()
	names := newSessionNames(&table)
	var slab textSlab
	for _, name := range sessionNameGolden {
		s := names.of(name)
		for _, port := range []uint16{0, 7, 99, 100, 40000, 65535} {
			var cport, got string
			allocs := testing.AllocsPerRun(100, func() { cport, got = table.portAndName(port, s, &slab) })
			assert.Equal(t, strconv.Itoa(int(port)), cport, "%q", name)
			assert.Equal(t, name, got, "%d", port)
			assert.LessOrEqual(t, allocs, 0.01, "%q, %d", name, port)
		}
	}
}

// Every name read from the store comes back as it was, whatever its form.
func TestSessionNameRoundTrip(t *testing.T) {
	table := newNameTable()
	names := newSessionNames(&table)
	for _, name := range sessionNameGolden {
		assert.Equal(t, name, table.String(names.of(name)), "%q", name)
	}
}

// One process's names share one prefix: what keeps a record's name off
// the heap.
func TestSessionNamesSharePrefixes(t *testing.T) {
	table := newNameTable()
	names := newSessionNames(&table)
	a, b := names.of("0123456789abcdef-1"), names.of("0123456789abcdef-2")
	c := names.of("fedcba9876543210-1")
	ap, _ := a.split()
	bp, bn := b.split()
	cp, _ := c.split()
	assert.Equal(t, ap, bp)
	assert.NotEqual(t, ap, cp)
	assert.Equal(t, uint32(2), bn)
	_, oddN := names.of("a-01").split() // not canonical base 36: kept whole
	assert.Zero(t, oddN)
	_, bigN := names.of("a-1z141z4").split() // past 32 bits: kept whole
	assert.Zero(t, bigN)
	assert.Len(t, table, 5, "one text per prefix, one per whole name, and the empty name")
}

// A prefix's counter runs out after 4.3 billion names; the next name has
// a new prefix and is new all the same.
func TestSessionNamesGoOnPastTheCounter(t *testing.T) {
	r := New()
	first := r.names.String(r.nextSessionLocked())
	r.sessions = lastCount - 1
	last := r.names.String(r.nextSessionLocked())
	next := r.names.String(r.nextSessionLocked())
	assert.Equal(t, first[:len(first)-1]+"1z141z3", last)
	assert.NotEqual(t, first[:17], next[:17], "a new prefix")
	assert.Equal(t, "1", next[17:])
}

// A connection that registers again under a known cid (a reconnect, a
// takeover) gets a new name without allocating: the name is the shared
// prefix and a counter.
func TestReRegisterAllocatesNoName(t *testing.T) {
	r := New()
	c := &handle{1}
	_, _, err := r.RegisterPort("a", &internalCIP, 4000, c)
	assert.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() {
		r.Disconnect("a", c, protocol.ReasonClosedByClient)
		_, _, _ = r.RegisterPort("a", &internalCIP, 4000, c)
	})
	assert.Zero(t, allocs)
	rec, _ := r.Get("a")
	assert.Equal(t, r.names[r.prefix]+"2u", rec.Session, "the 102nd session: AllocsPerRun runs once more to warm up")
}

func FuzzSessionName(f *testing.F) {
	for _, name := range sessionNameGolden {
		f.Add(name)
	}
	f.Fuzz(func(t *testing.T, name string) {
		table := newNameTable()
		if got := table.String(newSessionNames(&table).of(name)); got != name {
			t.Fatalf("%q came back as %q", name, got)
		}
	})
}

// appendTo writes what String gives, for every form a name takes.
func TestSessionNameAppendsAsItPrints(t *testing.T) {
	table := newNameTable()
	prefix, whole := table.add("0123456789abcdef-"), table.add("a name of another form")
	for _, s := range []sessionName{0, makeName(whole, 0), makeName(prefix, 1), makeName(prefix, lastCount)} {
		assert.Equal(t, "x"+table.String(s), string(table.appendTo([]byte("x"), s)))
	}
}

package events

import (
	"testing"
)

// FuzzDecodeSpill: a spill file that parses is events that, written as a
// stop writes them, read back the same; no input panics or loops. Seeded
// with a line of every event shape (encodeCases).
func FuzzDecodeSpill(f *testing.F) {
	var all []byte
	for _, ev := range encodeCases() {
		line, err := AppendJSON(nil, &ev)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(append(line, '\n'))
		all = append(append(all, line...), '\n')
	}
	f.Add(all)
	f.Add([]byte("{}\n\n"))
	f.Add([]byte("not json\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, err := decodeSpill(b)
		if err != nil {
			return
		}
		var again []byte
		for i := range evs {
			if evs[i].Seq != 0 {
				t.Fatalf("event %d keeps seq %d: the stream gives it", i, evs[i].Seq)
			}
			line, err := AppendJSON(nil, &evs[i])
			if err != nil {
				return // a time beyond RFC 3339's years: not something a stop writes
			}
			again = append(append(again, line...), '\n')
		}
		back, err := decodeSpill(again)
		if err != nil || len(back) != len(evs) {
			t.Fatalf("%q read back %d of %d events: %v", again, len(back), len(evs), err)
		}
		for i := range back {
			a, _ := AppendJSON(nil, &back[i])
			e, _ := AppendJSON(nil, &evs[i])
			if string(a) != string(e) {
				t.Fatalf("event %d: %s read back as %s", i, e, a)
			}
		}
	})
}

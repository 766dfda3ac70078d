package events

import (
	"bytes"
	"encoding/json"
	"time"
	"unicode/utf8"
)

// Four fields of a stored event are read without decoding the rest: the
// cid (the index is built from every event at start), the type (a type
// filter decodes only what it answers), the time (the webhook's linger
// and payload) and the id (the webhook's request id). Our encoder (and encoding/json, which earlier builds
// used) writes each once, at the top level, and the fields before it hold
// no quote that could fake its key, so the first match is the field.
// Bytes written otherwise (a file edited by hand) go to encoding/json,
// which the readers use, so the shortcut must agree with it: see fast.

// field is a top-level string field, by its name (lower-case ASCII
// letters but k and s, which also fold to non-ASCII letters) and its key
// as our encoder writes it.
type field struct{ name, key string }

var (
	fieldCID  = field{"cid", `"cid":"`}
	fieldType = field{"type", `"type":"`}
	fieldTime = field{"time", `"time":"`}
	fieldID   = field{"id", `"id":"`}
)

// fast is f's value in v, quotes included; ok is false when the bytes
// could make encoding/json read another value than the first key's: an
// object nested in the event (its field is not the event's), an escape in
// a key or in the value, a raw byte that is not UTF-8 (encoding/json
// reads U+FFFD), or a later key that encoding/json also takes for f (a
// duplicate, another case, `"cid" :`), whose value would win. With no key
// at all, ok says that none is spelled another way (val nil). Our
// encoders write none of these, except escapes in the free text after the
// fields read here. Its guards cost 100 to 200 ns an event (typeOf 170
// ns, all three 510 ns: BenchmarkFieldsOf); encoding/json costs 2 µs.
func (f field) fast(v []byte) (val []byte, ok bool) {
	if len(v) == 0 || v[0] != '{' || bytes.IndexByte(v[1:], '{') >= 0 {
		return nil, false
	}
	i := bytes.Index(v, []byte(f.key))
	if i < 0 {
		return nil, !f.mayName(v)
	}
	if v[i-1] == '\\' {
		return nil, false // `\"cid":"` ends a key that holds a quote
	}
	start := i + len(f.key)
	j := bytes.IndexByte(v[start:], '"')
	if j < 0 {
		return nil, false
	}
	end := start + j
	if bytes.IndexByte(v[start:end], '\\') >= 0 || !utf8.Valid(v[start:end]) || f.mayName(v[end+1:]) {
		return nil, false
	}
	return v[start-1 : end+1], true
}

// mayName reports whether b may hold a key that encoding/json takes for
// f: its match ignores case, and a key may spell its letters as \u
// escapes. Any quote after f's letters counts, a key's or not.
func (f field) mayName(b []byte) bool {
	if bytes.Contains(b, []byte(`\u`)) {
		return true
	}
	last := f.name[len(f.name)-1]
	return f.endsKey(b, last) || f.endsKey(b, last-('a'-'A'))
}

// endsKey reports whether b holds f's name, its last letter as given and
// the others of either case, between quotes. Found by its last letter and
// the quote, which is quicker than trying each quote. The opening quote
// keeps a name that ends another ("id" in "cid") from counting.
func (f field) endsKey(b []byte, last byte) bool {
	n := len(f.name)
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte{last, '"'})
		if j < 0 {
			return false
		}
		i += j + 2 // past the quote; the name would end at i-2
		if i >= n+2 && b[i-2-n] == '"' && foldsTo(b[i-1-n:i-2], f.name[:n-1]) {
			return true
		}
	}
}

// foldsTo reports whether b is name (lower-case ASCII letters) in any
// case.
func foldsTo(b []byte, name string) bool {
	for i := range len(name) {
		if b[i]|0x20 != name[i] {
			return false
		}
	}
	return true
}

// cidOf reads the cid of a stored event as encoding/json does.
func cidOf(v []byte) string {
	if val, ok := fieldCID.fast(v); ok {
		if val == nil {
			return ""
		}
		return string(val[1 : len(val)-1])
	}
	var c struct {
		CID string `json:"cid"`
	}
	_ = json.Unmarshal(v, &c)
	return c.CID
}

// typeOf reads the type of a stored event; ok is false when it can not be
// read without decoding the event.
func typeOf(raw []byte) (typ []byte, ok bool) {
	val, ok := fieldType.fast(raw)
	if !ok || val == nil {
		return nil, false
	}
	return val[1 : len(val)-1], true
}

// timeOf reads the time of a stored event as encoding/json does (the
// zero time when that fails).
func timeOf(raw []byte) time.Time {
	var t time.Time
	if val, ok := fieldTime.fast(raw); ok && (val == nil || t.UnmarshalJSON(val) == nil) {
		return t // nil: no time, spelled no way
	}
	var e struct {
		Time time.Time `json:"time"`
	}
	_ = json.Unmarshal(raw, &e)
	return e.Time
}

// idOf reads the id of a stored event as encoding/json does.
func idOf(raw []byte) []byte {
	if val, ok := fieldID.fast(raw); ok {
		if val == nil {
			return nil
		}
		return val[1 : len(val)-1]
	}
	var e struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(raw, &e)
	return []byte(e.ID)
}

// AsEncoded reports whether r.JSON is what AppendJSON writes for its
// event, so that a reader may send it on as it is instead of decoding it
// and encoding it again (a stream's catch-up over the whole log spent most
// of its CPU there): one line, its times in six digits. Earlier builds
// wrote up to nine digits, trailing zeros cut (.5Z), and EVENTS.md's form
// is six wherever an event is decoded.
func (r Raw) AsEncoded() bool {
	js := r.JSON
	if bytes.IndexByte(js, '\n') >= 0 || bytes.IndexByte(js, '\r') >= 0 {
		return false
	}
	at, ok := fieldTime.fast(js)
	if !ok || !inMicros(at) {
		return false
	}
	i := bytes.Index(js, []byte(connectedAtKey))
	return i < 0 || inMicros(js[i+len(connectedAtKey)-1:])
}

// connectedAtKey is connected_at's key as our encoder writes it: a
// disconnect's, the one other time of an event.
const connectedAtKey = `"connected_at":"`

// inMicros reports whether v starts with a quoted time in the form our
// encoder writes: "2006-01-02T15:04:05.000000Z".
func inMicros(v []byte) bool {
	const n = len(`"2006-01-02T15:04:05.000000Z"`)
	return len(v) >= n && v[0] == '"' && v[20] == '.' && v[n-2] == 'Z' && v[n-1] == '"'
}

package jsonenc

import (
	"errors"
	"fmt"
	"time"
)

// AppendTime writes t in UTC, quoted, as time.Time's MarshalJSON does
// (RFC 3339, with its rule that the year has exactly four digits: RFC 3339
// has no other), its fraction written as f.
//
// Hand-written from the Unix seconds: time's own AppendFormat works the
// date out twice (once for the year check) and goes through its layout
// machinery, and was half of the event log's encoding (two times in a
// disconnect event; BenchmarkAppendJSON in events/).
func AppendTime(dst []byte, t time.Time, f Fraction) ([]byte, error) {
	var w TimeWriter
	return w.Append(dst, t, f)
}

// A TimeWriter appends times as AppendTime does and keeps the last one's
// date, so that times on the same day work the calendar out once: civil
// was a fifth of a registry record's encoding (three times, mostly of one
// day). The zero value is ready; not safe for concurrent use.
type TimeWriter struct {
	days int64    // the date's days since 1970-01-01
	date [10]byte // its "YYYY-MM-DD"; date[0] == 0: none yet
}

// Fraction is how a time's part below the second is written.
type Fraction uint8

const (
	// Nanos is up to nine digits with the trailing zeros cut (none for a
	// whole second): time.Time's MarshalJSON.
	Nanos Fraction = iota
	// Micros is exactly six digits, the rest cut: EVENTS.md's event
	// times, fixed in width so that every consumer's parser takes them.
	Micros
)

// Append appends t as AppendTime does.
func (w *TimeWriter) Append(dst []byte, t time.Time, f Fraction) ([]byte, error) {
	sec := t.Unix()
	days, s := sec/86400, sec%86400
	if s < 0 {
		days, s = days-1, s+86400
	}
	if w.date[0] == 0 || days != w.days {
		if err := w.setDate(days); err != nil {
			return dst, fmt.Errorf("time %v: %w", t.UTC(), err)
		}
	}
	dst = append(append(dst, '"'), w.date[:]...)
	dst = append2(append(dst, 'T'), int(s/3600))
	dst = append2(append(dst, ':'), int(s/60%60))
	dst = append2(append(dst, ':'), int(s%60))
	switch ns := t.Nanosecond(); {
	case f == Micros:
		dst = appendMicros(dst, ns)
	case f == Nanos && ns != 0:
		dst = appendFraction(dst, ns)
	}
	return append(dst, 'Z', '"'), nil
}

// setDate makes days the date w writes, if its year has four digits.
func (w *TimeWriter) setDate(days int64) error {
	y, mo, d := civil(days)
	if y < 0 || y > 9999 {
		return errYear
	}
	b := append2(append2(w.date[:0], int(y/100)), int(y%100))
	b = append2(append(b, '-'), mo)
	append2(append(b, '-'), d)
	w.days = days
	return nil
}

var errYear = errors.New("year outside of range [0,9999]")

// civil is the proleptic Gregorian date of days since 1970-01-01 (Howard
// Hinnant's days_from_civil inverted; exact for every int64 a time.Time's
// Unix seconds give here).
func civil(days int64) (y int64, m, d int) {
	z := days + 719468 // days since 0000-03-01
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097                                  // [0, 146096]
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // [0, 399]
	doy := doe - (365*yoe + yoe/4 - yoe/100)               // [0, 365], from March 1st
	mp := (5*doy + 2) / 153                                // [0, 11], March is 0
	d = int(doy - (153*mp+2)/5 + 1)
	m = int(mp + 3)
	if m > 12 {
		m -= 12
	}
	y = yoe + era*400
	if m <= 2 {
		y++
	}
	return y, m, d
}

// pairs is "00" to "99", for two digits at a time.
const pairs = "00010203040506070809" + "10111213141516171819" + "20212223242526272829" +
	"30313233343536373839" + "40414243444546474849" + "50515253545556575859" +
	"60616263646566676869" + "70717273747576777879" + "80818283848586878889" +
	"90919293949596979899"

// append2 appends v (0 to 99) as two digits.
func append2(dst []byte, v int) []byte { return append(dst, pairs[2*v], pairs[2*v+1]) }

// appendMicros appends "." and the microseconds of ns (0 to 999,999,999)
// as six digits.
func appendMicros(dst []byte, ns int) []byte {
	us := ns / 1e3
	return append2(append2(append2(append(dst, '.'), us/1e4), us/100%100), us%100)
}

// appendFraction appends ".", then ns (1 to 999,999,999) as nine digits
// with the trailing zeros cut, as RFC3339Nano's ".999999999" does.
func appendFraction(dst []byte, ns int) []byte {
	var b [10]byte
	b[0], b[1] = '.', byte('0'+ns/1e8)
	r := ns % 1e8
	for i, v := range [4]int{r / 1e6, r / 1e4 % 100, r / 100 % 100, r % 100} {
		b[2+2*i], b[3+2*i] = pairs[2*v], pairs[2*v+1]
	}
	n := len(b)
	for b[n-1] == '0' {
		n--
	}
	return append(dst, b[:n]...)
}

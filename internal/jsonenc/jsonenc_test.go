package jsonenc

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// stringCases are strings with every kind of byte AppendString escapes,
// at every place of an 8-byte word (its fast path reads eight at once).
var stringCases = []string{
	"", "a", "bench-01234", "127.0.10.3", "evt-5f0c2a9e3b1d4c77-2n9c", "closed by client",
	"1234567\"", "\\2345678", "12<45678abc", "123>5678", "1234&678", "1234567\x1f", "\x00", "\x7f1234567",
	"quote \" back \\ nl \n tab \t bell \a del \x7f \u2028 \u2029 bad \xff é 日本",
	"abcdefgh\xe2\x80\xa8", "abcdefg\xff", "ops <a&b>",
}

func TestAppendStringIsJSONMarshal(t *testing.T) {
	for _, s := range stringCases {
		want, err := json.Marshal(s)
		require.NoError(t, err)
		require.Equal(t, "x"+string(want), string(AppendString([]byte("x"), s)), "%q", s)
	}
}

// timeCases are times around the edges of the calendar and the fraction.
var timeCases = []time.Time{
	{}, time.Unix(0, 0), time.Unix(-1, 0), time.Unix(-1, 999999999), time.Unix(951782400, 0), // 2000-02-29
	time.Date(2026, 12, 1, 5, 22, 33, 123456789, time.UTC), time.Date(2026, 12, 1, 5, 22, 33, 120000000, time.UTC),
	time.Date(1900, 3, 1, 0, 0, 0, 1, time.UTC), time.Date(2100, 2, 28, 23, 59, 59, 100, time.UTC),
	time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
	time.Date(-1, 12, 31, 23, 59, 59, 0, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
	time.Date(2026, 11, 30, 11, 0, 0, 5, time.FixedZone("x", 3600)),
	time.Unix(0, math.MinInt64), time.Unix(0, math.MaxInt64),
}

func TestAppendTimeIsJSONMarshal(t *testing.T) {
	for _, at := range timeCases {
		checkTime(t, at)
	}
}

// checkTime holds AppendTime to time.Time's MarshalJSON of at in UTC: the
// same bytes, or an error (and dst as it was) where it has one.
func checkTime(t *testing.T, at time.Time) {
	checkAppend(t, at, func(dst []byte, at time.Time) ([]byte, error) { return AppendTime(dst, at, Nanos) })
}

// checkAppend holds appendTime (AppendTime, or a TimeWriter's Append, of
// Nanos) to time.Time's MarshalJSON of at in UTC.
func checkAppend(t *testing.T, at time.Time, appendTime func([]byte, time.Time) ([]byte, error)) {
	checkAgainst(t, at, appendTime, func(at time.Time) string { b, _ := json.Marshal(at); return string(b) })
}

// checkAgainst holds appendTime to want of at in UTC where MarshalJSON
// writes at, and to its error (and dst as it was) where it has one.
func checkAgainst(t *testing.T, at time.Time, appendTime func([]byte, time.Time) ([]byte, error), want func(time.Time) string) {
	_, werr := json.Marshal(at.UTC())
	got, err := appendTime([]byte("x"), at)
	if werr != nil {
		require.Error(t, err, "%v", at)
		require.Equal(t, "x", string(got))
		return
	}
	require.NoError(t, err, "%v", at)
	require.Equal(t, "x"+want(at.UTC()), string(got), "%v", at)
}

// fractionLayouts are the time.Format layouts of the fractions that are
// not MarshalJSON's, quoted.
var fractionLayouts = map[Fraction]string{Micros: `"2006-01-02T15:04:05.000000Z07:00"`}

// TestAppendMicrosIsTimeFormat holds Micros to time.Format of at in UTC,
// with MarshalJSON's errors (a year beyond four digits), through
// AppendTime and through a TimeWriter that already holds another date.
func TestAppendMicrosIsTimeFormat(t *testing.T) {
	for f := range fractionLayouts {
		for _, at := range timeCases {
			checkAs(t, at, f, func(dst []byte, at time.Time) ([]byte, error) { return AppendTime(dst, at, f) })
			w := TimeWriter{}
			_, _ = w.Append(nil, time.Unix(86400*3, 0), Nanos)
			checkAs(t, at, f, func(dst []byte, at time.Time) ([]byte, error) { return w.Append(dst, at, f) })
		}
	}
	got, err := AppendTime(nil, time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC), Micros)
	require.NoError(t, err)
	require.Equal(t, `"2026-11-30T10:00:00.000000Z"`, string(got), "six digits on a whole second too")
}

// checkAs holds appendTime's Fraction f to time.Format.
func checkAs(t *testing.T, at time.Time, f Fraction, appendTime func([]byte, time.Time) ([]byte, error)) {
	checkAgainst(t, at, appendTime, func(at time.Time) string { return at.Format(fractionLayouts[f]) })
}

// TestCivilIsTimeDate holds civil to package time's calendar on every day
// AppendTime writes, 0000-01-01 to 9999-12-31.
func TestCivilIsTimeDate(t *testing.T) {
	const first, last = -719528, 2932896 // 0000-01-01, 9999-12-31
	for days := int64(first); days <= last; days++ {
		y, m, d := civil(days)
		wy, wm, wd := time.Unix(days*86400, 0).UTC().Date()
		if int(y) != wy || m != int(wm) || d != wd {
			t.Fatalf("day %d: civil gives %d-%d-%d, time %d-%d-%d", days, y, m, d, wy, wm, wd)
		}
	}
}

// TestTimeWriterKeepsNothingWrong runs one TimeWriter over timeCases, each
// after every other (a date kept, a date changed, a date refused), and
// holds each result to MarshalJSON.
func TestTimeWriterKeepsNothingWrong(t *testing.T) {
	for _, a := range timeCases {
		for _, b := range timeCases {
			var w TimeWriter
			checkWriter(t, &w, a)
			checkWriter(t, &w, b)
			checkWriter(t, &w, a)
		}
	}
}

// checkWriter holds w.Append to MarshalJSON, as checkTime does AppendTime.
func checkWriter(t *testing.T, w *TimeWriter, at time.Time) {
	checkAppend(t, at, func(dst []byte, at time.Time) ([]byte, error) { return w.Append(dst, at, Nanos) })
}

func FuzzAppendString(f *testing.F) {
	for _, s := range stringCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		require.NoError(t, err)
		require.Equal(t, string(want), string(AppendString(nil, s)))
	})
}

func FuzzAppendTime(f *testing.F) {
	for _, at := range timeCases {
		f.Add(at.Unix(), int64(at.Nanosecond()))
	}
	f.Fuzz(func(t *testing.T, sec, nsec int64) {
		checkTime(t, time.Unix(sec, nsec))
	})
}

// FuzzAppendMicros holds Micros to time.Format.
func FuzzAppendMicros(f *testing.F) {
	for _, at := range timeCases {
		f.Add(at.Unix(), int64(at.Nanosecond()))
	}
	f.Fuzz(func(t *testing.T, sec, nsec int64) {
		checkAs(t, time.Unix(sec, nsec), Micros, func(dst []byte, at time.Time) ([]byte, error) {
			return AppendTime(dst, at, Micros)
		})
	})
}

// FuzzTimeWriter writes two times with one TimeWriter, the second a
// shift of the first (mostly the same day, as a record's times are).
func FuzzTimeWriter(f *testing.F) {
	for _, at := range timeCases {
		f.Add(at.Unix(), int64(at.Nanosecond()), int64(3600), int64(1))
	}
	f.Fuzz(func(t *testing.T, sec, nsec, shift, nshift int64) {
		var w TimeWriter
		checkWriter(t, &w, time.Unix(sec, nsec))
		checkWriter(t, &w, time.Unix(sec+shift, nsec+nshift))
	})
}

// BenchmarkAppendTime is one event time, with its nanoseconds.
func BenchmarkAppendTime(b *testing.B) {
	at := time.Date(2026, 12, 1, 5, 22, 33, 123456789, time.UTC)
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendTime(buf[:0], at, Nanos)
	}
}

// BenchmarkAppendString is an event's plain strings, as they come.
func BenchmarkAppendString(b *testing.B) {
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for _, s := range stringCases[:6] {
			buf = AppendString(buf, s)
		}
	}
}

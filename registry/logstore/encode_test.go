package logstore

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// referenceEncode is what appendRecord must equal byte for byte: the
// diskRecord through encoding/json.
func referenceEncode(rec registry.Record) ([]byte, error) {
	return json.Marshal(diskRecord{
		V: recordVersion, SID: rec.SID, CID: rec.CID, CIP: rec.CIP, CPort: rec.CPort,
		CStatus: rec.CStatus, ConnectedAt: utc(rec.ConnectedAt), LastSeen: utc(rec.LastSeen),
		DisconnectedAt: utc(rec.DisconnectedAt), Reason: rec.Reason, Node: rec.Node,
	})
}

func TestEncoderMatchesEncodingJSON(t *testing.T) {
	strs := []string{
		"", "plain", `quote " and \ backslash`, "<script>&amp;</script>", "\x00\x01\x1f\x7f",
		"\b\f\n\r\t", "é ü 中文 🙂", "\xff\xfe invalid", "bad tail \xe2\x82", "\u2028\u2029",
		"a\u2028b", strings.Repeat("x", 300),
	}
	zone := time.FixedZone("odd", -(3*3600 + 30*60))
	times := []time.Time{
		{}, t0, t1, t1.In(zone), time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Unix(0, 1),
		time.Date(2026, 1, 1, 0, 0, 0, 100, time.UTC), time.Now(),
	}
	var n int
	for i, s := range strs {
		for j, tm := range times {
			for _, reason := range append(protocol.Reasons(), protocol.ReasonNone) {
				rec := registry.Record{
					SID: uint16(i*j + int(reason)), CID: "c" + s, CIP: s, CPort: s, CStatus: j%2 == 0,
					ConnectedAt: tm, LastSeen: times[(j+1)%len(times)], DisconnectedAt: times[(j+2)%len(times)],
					Reason: reason, Node: s,
				}
				want, err := referenceEncode(rec)
				require.NoError(t, err)
				got, err := appendRecord(nil, rec)
				require.NoError(t, err)
				require.Equal(t, string(want), string(got), "%+v", rec)
				n++
			}
		}
	}
	assert.Greater(t, n, 1000)
}

func TestEncoderRefusesYearsJSONCannotHold(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		// In its own zone still 9999, in UTC already 10000.
		time.Date(9999, 12, 31, 23, 0, 0, 0, time.FixedZone("w", -2*3600)),
	} {
		rec := registry.Record{CID: "a", LastSeen: tm}
		_, refErr := referenceEncode(rec)
		require.Error(t, refErr, tm)
		out, err := appendRecord([]byte("keep"), rec)
		require.Error(t, err, tm)
		assert.Contains(t, err.Error(), `"a"`)
		assert.Equal(t, "keep", string(out), "a failed encode leaves dst as it was")
	}
}

// FuzzEncodeMatchesEncodingJSON holds the hand-written encoder to
// encoding/json's bytes over arbitrary strings, sids, times and reasons,
// and checks that what it writes decodes back to the record.
func FuzzEncodeMatchesEncodingJSON(f *testing.F) {
	f.Add("pos-0042", "127.0.0.1", "53122", "", uint16(17), true, int64(t1.UnixNano()), int64(0), uint8(0))
	f.Add("a<b>&c", "\u2028\x00", "\xff", "né", uint16(65535), false, int64(-1), int64(1), uint8(7))
	f.Fuzz(func(t *testing.T, cid, cip, cport, node string, sid uint16, status bool, sec, nsec int64, reason uint8) {
		rec := registry.Record{
			SID: sid, CID: cid, CIP: cip, CPort: cport, CStatus: status, Node: node,
			ConnectedAt: time.Unix(sec, nsec), LastSeen: time.Unix(sec/3, nsec), DisconnectedAt: time.Unix(0, nsec),
			Reason: protocol.Reason(reason % uint8(len(protocol.Reasons())+1)),
		}
		want, refErr := referenceEncode(rec)
		got, err := appendRecord(nil, rec)
		if (refErr == nil) != (err == nil) {
			t.Fatalf("encoding/json err %v, appendRecord err %v", refErr, err)
		}
		if err != nil {
			return
		}
		if string(want) != string(got) {
			t.Fatalf("encodings differ:\njson %s\nhand %s", want, got)
		}
		if cid == "" || !utf8.ValidString(cid) {
			// The decoder refuses these (no key, or a key the JSON text can
			// not repeat); cids follow the protocol's ASCII field rule.
			return
		}
		back, err := decodeRecord([]byte(cid), got)
		if err != nil {
			t.Fatalf("own encoding does not decode: %v\n%s", err, got)
		}
		// encoding/json replaces invalid UTF-8; only valid strings must
		// come back unchanged.
		if utf8Valid(cid, cip, cport, node) {
			rec.ConnectedAt, rec.LastSeen, rec.DisconnectedAt = utc(rec.ConnectedAt), utc(rec.LastSeen), utc(rec.DisconnectedAt)
			if back != rec {
				t.Fatalf("round trip:\n%+v\n%+v", rec, back)
			}
		}
	})
}

func utf8Valid(ss ...string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

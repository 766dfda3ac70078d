package events

import (
	"strconv"

	"github.com/cliser/cliser/internal/jsonenc"
)

// AppendJSON appends ev's JSON to dst: encoding/json's bytes for ev's
// fields (the tests and the fuzz target hold it to that), with its times
// in UTC to the microsecond, six digits always, as EVENTS.md's example
// has them: a consumer's strict parser (Python's %f) takes them, and a
// disconnect's connected_at is its session's client.connected time.
// Hand-written because the writer
// encodes every event of a storm: encoding/json's reflection and garbage
// were a third of the writer's CPU. On an error (a time outside the years
// 0 to 9999) dst comes back as it was.
func AppendJSON(dst []byte, ev *Event) ([]byte, error) {
	var times jsonenc.TimeWriter
	return appendJSON(dst, ev, nil, &times)
}

// appendJSON is AppendJSON, with the next ID of ids for an event that has
// none (when ids is not nil), and its times written by times: the
// single-node writer keeps both across events, so that a storm's times,
// all of one day, work the calendar out once and not twice an event.
func appendJSON(dst []byte, ev *Event, ids *idWriter, times *jsonenc.TimeWriter) ([]byte, error) {
	n0 := len(dst)
	var err error
	dst = append(dst, `{"seq":`...)
	dst = strconv.AppendUint(dst, ev.Seq, 10)
	dst = append(dst, `,"id":`...)
	if ev.ID == "" && ids != nil {
		dst = ids.appendID(dst)
	} else {
		dst = jsonenc.AppendString(dst, ev.ID)
	}
	dst = append(dst, `,"type":`...)
	dst = jsonenc.AppendString(dst, ev.Type)
	dst = append(dst, `,"time":`...)
	if dst, err = times.Append(dst, ev.Time, jsonenc.Micros); err != nil {
		return dst[:n0], err
	}
	dst = appendField(dst, `,"node":`, ev.Node)
	dst = appendField(dst, `,"cid":`, ev.CID)
	if ev.SID != 0 {
		dst = append(dst, `,"sid":`...)
		dst = strconv.AppendUint(dst, uint64(ev.SID), 10)
	}
	dst = appendField(dst, `,"cip":`, ev.CIP)
	dst = appendField(dst, `,"cport":`, ev.CPort)
	dst = appendField(dst, `,"session":`, ev.Session)
	if ev.ConnectedAt != nil {
		dst = append(dst, `,"connected_at":`...)
		if dst, err = times.Append(dst, *ev.ConnectedAt, jsonenc.Micros); err != nil {
			return dst[:n0], err
		}
	}
	if ev.Reason != nil { // present even when empty: "" is an answer
		dst = append(dst, `,"reason":`...)
		dst = jsonenc.AppendString(dst, *ev.Reason)
	}
	dst = appendField(dst, `,"kind":`, ev.Kind)
	dst = appendField(dst, `,"value":`, ev.Value)
	dst = appendField(dst, `,"by":`, ev.By)
	return append(dst, '}'), nil
}

// appendField appends an omitempty string field.
func appendField(dst []byte, name, v string) []byte {
	if v == "" {
		return dst
	}
	dst = append(dst, name...)
	return jsonenc.AppendString(dst, v)
}

package protocol

import "testing"

func BenchmarkNextLineParse(b *testing.B) {
	buf := []byte("100 18446744073709551615\r\n")
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		line, _, _ := NextLine(buf)
		_, _ = Parse(line)
	}
}

func BenchmarkAppendKeepAlive(b *testing.B) {
	dst := make([]byte, 0, 64)
	b.ReportAllocs()
	var tok uint64
	for b.Loop() {
		tok++
		dst = AppendKeepAlive(dst[:0], tok)
	}
}

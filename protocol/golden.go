package protocol

import "strings"

// GoldenLine is one byte vector of the framing and line grammar. The codec
// tests decode and re-encode every entry; the server tests replay them on a
// real connection and expect the close reason ReasonFor(Err) for the
// invalid ones.
type GoldenLine struct {
	Name string
	Wire string // the bytes as they arrive, the LF included when there is one
	Err  error  // nil for a valid line
	// For valid lines: what Parse gives.
	Code Code
	Arg  string // "" with NoArg true for a code alone
	// NoArg is true when the line is the code alone.
	NoArg bool
	// Canonical is what AppendLine gives back; "" means the same as Wire.
	Canonical string
}

// Partial reports whether Wire holds no complete line and is short enough to
// wait for more bytes.
func (g GoldenLine) Partial() bool {
	return g.Err == nil && !strings.Contains(g.Wire, "\n")
}

var (
	longestArg   = strings.Repeat("a", MaxLine-len("110 \n"))
	maxPassword  = strings.Repeat("p", MaxPassword)
	maxClientID  = strings.Repeat("i", MaxClientID)
	tooLongLine  = "110 " + strings.Repeat("a", MaxLine-len("110 \n")+1) + "\n"
	noLFAtLimit  = "110 " + strings.Repeat("a", MaxLine-len("110 "))
	noLFShortOne = "110 " + strings.Repeat("a", MaxLine-len("110 ")-1)
)

// GoldenLines is the table of wire vectors, valid then invalid.
var GoldenLines = []GoldenLine{
	// valid
	{Name: "keepalive echo", Wire: "100 1\n", Code: CodeKeepAlive, Arg: "1"},
	{Name: "keepalive max token", Wire: "100 18446744073709551615\n", Code: CodeKeepAlive, Arg: "18446744073709551615"},
	{Name: "password", Wire: "110 s3cret\n", Code: CodePassword, Arg: "s3cret"},
	{Name: "password crlf", Wire: "110 s3cret\r\n", Code: CodePassword, Arg: "s3cret", Canonical: "110 s3cret\n"},
	{Name: "password with spaces", Wire: "110 correct horse battery\n", Code: CodePassword, Arg: "correct horse battery"},
	{Name: "password high bytes", Wire: "110 p\xc3\xa4ss\xff\n", Code: CodePassword, Arg: "p\xc3\xa4ss\xff"},
	{Name: "password longest", Wire: "110 " + maxPassword + "\n", Code: CodePassword, Arg: maxPassword},
	{Name: "id", Wire: "120 pos-0042\n", Code: CodeID, Arg: "pos-0042"},
	{Name: "id all classes", Wire: "120 A.z_0:9@x-Y\n", Code: CodeID, Arg: "A.z_0:9@x-Y"},
	{Name: "id longest", Wire: "120 " + maxClientID + "\n", Code: CodeID, Arg: maxClientID},
	{Name: "shutdown ack", Wire: "130 ok\n", Code: CodeShutdown, Arg: "ok"},
	{Name: "shutdown ack crlf", Wire: "130 ok\r\n", Code: CodeShutdown, Arg: "ok", Canonical: "130 ok\n"},
	{Name: "code alone", Wire: "130\n", Code: CodeShutdown, NoArg: true},
	{Name: "server prompt", Wire: PromptPassword, Code: CodePassword, Arg: "password"},
	{Name: "server connected", Wire: "140 connected 17\n", Code: CodeConnected, Arg: "connected 17"},
	{Name: "server shutdown text", Wire: "130 shutdown maintenance window\n", Code: CodeShutdown, Arg: "shutdown maintenance window"},
	{Name: "server close", Wire: "190 auth failed\n", Code: CodeClose, Arg: "auth failed"},
	{Name: "unknown code parses", Wire: "999 x\n", Code: 999, Arg: "x"},
	{Name: "arg with leading space", Wire: "100  1\n", Code: CodeKeepAlive, Arg: " 1"},
	{Name: "empty arg", Wire: "120 \n", Code: CodeID, Arg: ""},
	{Name: "empty arg crlf", Wire: "110 \r\n", Code: CodePassword, Arg: "", Canonical: "110 \n"},
	{Name: "longest line", Wire: "110 " + longestArg + "\n", Code: CodePassword, Arg: longestArg},
	{Name: "partial line waits", Wire: "110 s3c"},
	{Name: "partial just under limit waits", Wire: noLFShortOne},
	// A CR may yet be the end of the line: its LF decides.
	{Name: "partial ending in cr waits", Wire: "110 s3c\r"},
	{Name: "partial code and cr waits", Wire: "130\r"},

	// invalid
	{Name: "empty line", Wire: "\n", Err: ErrMalformed},
	{Name: "crlf only", Wire: "\r\n", Err: ErrMalformed},
	{Name: "one digit", Wire: "1\n", Err: ErrMalformed},
	{Name: "two digits", Wire: "10\n", Err: ErrMalformed},
	{Name: "four digits", Wire: "1000\n", Err: ErrMalformed},
	{Name: "letters", Wire: "abc\n", Err: ErrMalformed},
	{Name: "letter in code", Wire: "10a 1\n", Err: ErrMalformed},
	{Name: "leading space", Wire: " 100 1\n", Err: ErrMalformed},
	{Name: "tab separator", Wire: "100\t1\n", Err: ErrMalformed},
	{Name: "nul in arg", Wire: "110 pa\x00ss\n", Err: ErrMalformed},
	{Name: "nul in code", Wire: "1\x000 1\n", Err: ErrMalformed},
	{Name: "bare cr in arg", Wire: "110 pa\rss\n", Err: ErrMalformed},
	{Name: "double cr", Wire: "130 ok\r\r\n", Err: ErrMalformed},
	{Name: "binary noise", Wire: "\xff\xfe\xfd\x00\x01\n", Err: ErrMalformed},
	// Refused before an LF: no ending makes them a line, and they waited
	// for a timeout's reason (found by the wire audit).
	{Name: "nul before the lf", Wire: "110 s3c\x00", Err: ErrMalformed},
	{Name: "tls client hello", Wire: "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", Err: ErrMalformed},
	{Name: "http request, no lf yet", Wire: "GET / HTTP/1.1\r", Err: ErrMalformed},
	// After the code comes a space, or the line's end (LF, or CR LF);
	// a CR is followed by its LF or by nothing yet.
	{Name: "letter after the code, no lf yet", Wire: "110x", Err: ErrMalformed},
	{Name: "four digits, no lf yet", Wire: "1100", Err: ErrMalformed},
	{Name: "cr then a byte, no lf yet", Wire: "110 pw\rX", Err: ErrMalformed},
	{Name: "code, cr then a byte, no lf yet", Wire: "130\rX", Err: ErrMalformed},
	{Name: "two crs, no lf yet", Wire: "130 ok\r\r", Err: ErrMalformed},
	{Name: "line over limit", Wire: tooLongLine, Err: ErrLineTooLong},
	{Name: "limit reached without lf", Wire: noLFAtLimit, Err: ErrLineTooLong},
}

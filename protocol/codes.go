package protocol

import "strconv"

// Code is the three-digit number that starts every line.
type Code uint16

// The codes of protocol version 1. The server sends every one of them; the
// client answers 100, 110, 120 and 130 with the same code.
const (
	CodeKeepAlive Code = 100 // server: "100 <token>"; client: the same token back
	CodePassword  Code = 110 // server: "110 password"; client: "110 <password>"
	CodeID        Code = 120 // server: "120 id"; client: "120 <client-id>"
	CodeShutdown  Code = 130 // server: "130 shutdown[ <reason>]"; client: "130 ok"
	CodeConnected Code = 140 // server: "140 connected <sid>"
	CodeClose     Code = 190 // server: "190 <reason>", then it closes
)

// String returns the three digits.
func (c Code) String() string { return strconv.Itoa(int(c)) }

// Limits of the framing and of the fields.
const (
	// MaxLine is the longest line in bytes, its LF included.
	MaxLine = 512
	// MaxPassword and MaxClientID bound the fields of the handshake answers.
	MaxPassword = 256
	MaxClientID = 64
	// MaxShutdownReason bounds the operator's free text in "130 shutdown <reason>"
	// so that the line always fits MaxLine.
	MaxShutdownReason = MaxLine - len("130 shutdown \n")
)

package testkit

import "github.com/cliser/cliser/protocol"

// CloseLine is the line a server writes before it closes a connection for
// r, as ReadLine returns it: "190 <reason>" without the "\n".
func CloseLine(r protocol.Reason) string { return "190 " + r.String() }

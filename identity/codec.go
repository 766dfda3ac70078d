package identity

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cliser/cliser/protocol"
)

// The stored form of credentials and bans, one for every Store: a bbolt
// file on one node and the cluster's key-value buckets write the same
// JSON, with a version field "v", digests in hex (never a secret) and
// times in UTC.

// codecVersion is "v" in every stored value.
const codecVersion = 1

type storedCredential struct {
	V                  int        `json:"v"`
	CID                string     `json:"cid"`
	Digest             string     `json:"digest"`
	CreatedAt          time.Time  `json:"created_at"`
	Previous           string     `json:"previous,omitempty"`
	PreviousValidUntil *time.Time `json:"previous_valid_until,omitempty"`
}

type storedBan struct {
	V      int        `json:"v"`
	Kind   string     `json:"kind"`
	Value  string     `json:"value"`
	Reason string     `json:"reason"`
	By     string     `json:"by"`
	At     time.Time  `json:"at"`
	Until  *time.Time `json:"until,omitempty"`
}

// EncodeCredential is c's stored form. Goroutine-safe.
func EncodeCredential(c Credential) ([]byte, error) {
	sc := storedCredential{V: codecVersion, CID: c.CID, Digest: hex.EncodeToString(c.Digest[:]),
		CreatedAt: c.CreatedAt.UTC(), PreviousValidUntil: c.PreviousValidUntil}
	if c.Previous != nil {
		sc.Previous = hex.EncodeToString(c.Previous[:])
	}
	return json.Marshal(sc)
}

// DecodeCredential reads what EncodeCredential wrote; anything else (other
// version, bad digest, a client ID the protocol refuses) wraps ErrBadValue.
// Goroutine-safe.
func DecodeCredential(raw []byte) (Credential, error) {
	var c Credential
	if decodeCurrent(raw, &c) {
		return c, nil
	}
	return decodeCredentialJSON(raw)
}

// decodeCredentialJSON reads any form EncodeCredential wrote.
func decodeCredentialJSON(raw []byte) (Credential, error) {
	var sc storedCredential
	if err := unmarshal(raw, &sc, &sc.V); err != nil {
		return Credential{}, err
	}
	c := Credential{CID: sc.CID, CreatedAt: sc.CreatedAt, PreviousValidUntil: sc.PreviousValidUntil}
	if err := unhex(sc.Digest, &c.Digest); err != nil || protocol.ValidateClientID([]byte(sc.CID)) != nil {
		return Credential{}, fmt.Errorf("%w: bad digest or client id", ErrBadValue)
	}
	if sc.Previous != "" {
		var prev [32]byte
		if err := unhex(sc.Previous, &prev); err != nil {
			return Credential{}, fmt.Errorf("%w: bad previous digest", ErrBadValue)
		}
		c.Previous = &prev
	}
	return c, nil
}

// unmarshal reads raw into out, whose version field is v, and refuses a
// version this build does not read.
func unmarshal(raw []byte, out any, v *int) error {
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%w: %v", ErrBadValue, err)
	}
	if *v != codecVersion {
		return fmt.Errorf("%w: version %d, this build reads %d", ErrBadValue, *v, codecVersion)
	}
	return nil
}

func unhex(s string, out *[32]byte) error {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(out) {
		return ErrBadValue
	}
	copy(out[:], b)
	return nil
}

// EncodeBan is b's stored form. Goroutine-safe.
func EncodeBan(b Ban) ([]byte, error) {
	return json.Marshal(storedBan{V: codecVersion, Kind: b.Kind, Value: b.Value, Reason: b.Reason,
		By: b.By, At: b.At.UTC(), Until: b.Until})
}

// DecodeBan reads what EncodeBan wrote; anything else (other version, a
// kind or value ParseBanValue refuses) wraps ErrBadValue. Goroutine-safe.
func DecodeBan(raw []byte) (Ban, error) {
	var sb storedBan
	if err := unmarshal(raw, &sb, &sb.V); err != nil {
		return Ban{}, err
	}
	if _, err := ParseBanValue(sb.Kind, sb.Value); err != nil {
		return Ban{}, fmt.Errorf("%w: %v", ErrBadValue, err)
	}
	return Ban{Kind: sb.Kind, Value: sb.Value, Reason: sb.Reason, By: sb.By, At: sb.At, Until: sb.Until}, nil
}

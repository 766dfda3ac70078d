package admin

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// The credentials and bans endpoints (IDENTITY.md). Each is a plain method
// here and a thin handler in identity_http.go. Safe from any goroutine.

// Credential is a credential as the API shows it: never a secret, nor its
// digest. Secret is set only in the answer that created it.
type Credential struct {
	CID                string  `json:"cid"`
	Secret             string  `json:"secret,omitempty"`
	CreatedAt          string  `json:"created_at"`
	PreviousValidUntil *string `json:"previous_valid_until"`
}

// CredentialList is the answer of GET /v1/credentials.
type CredentialList struct {
	Credentials []Credential `json:"credentials"`
	Next        string       `json:"next"`
}

// CredentialRequest is the optional body of POST /v1/credentials/{cid}.
type CredentialRequest struct {
	Grace string `json:"grace"`
}

// Ban is a ban as the API shows it.
type Ban struct {
	Kind   string  `json:"kind"`
	Value  string  `json:"value"`
	Reason string  `json:"reason"`
	By     string  `json:"by"`
	At     string  `json:"at"`
	Until  *string `json:"until"`
}

// BanList is the answer of GET /v1/bans.
type BanList struct {
	Bans []Ban  `json:"bans"`
	Next string `json:"next"`
}

// BanRequest is the body of POST /v1/bans.
type BanRequest struct {
	Kind     string `json:"kind"`
	Value    string `json:"value"`
	Reason   string `json:"reason"`
	Duration string `json:"duration"`
}

func (a *API) ids() (*identity.Service, error) {
	if a.opts.identity == nil {
		return nil, ErrNoIdentity
	}
	return a.opts.identity, nil
}

// CreateCredential is POST /v1/credentials/{cid}: a new secret for cid,
// shown once; with grace > 0 a previous secret keeps working for grace.
func (a *API) CreateCredential(ctx context.Context, cid string, grace time.Duration) (Credential, error) {
	ids, err := a.ids()
	if err != nil {
		return Credential{}, err
	}
	if err := checkCID(cid); err != nil {
		return Credential{}, err
	}
	if grace < 0 {
		return Credential{}, badRequest(fmt.Sprintf("grace %s is negative; give a duration like 24h, or none", grace))
	}
	secret, c, err := ids.Enroll(ctx, cid, grace)
	if err != nil {
		return Credential{}, storeError(err)
	}
	a.eventStored(ctx)
	out := credentialOf(c)
	out.Secret = secret
	return out, nil
}

// ListCredentials is GET /v1/credentials: one page in client-ID order of
// the client IDs that start with prefix ("": all). after is the previous
// page's last cid (decoded from the cursor).
func (a *API) ListCredentials(after, prefix string, limit int) (CredentialList, error) {
	ids, err := a.ids()
	if err != nil {
		return CredentialList{}, err
	}
	limit, err = pageSize(limit, registry.DefaultPageLimit, registry.MaxPageLimit)
	if err != nil {
		return CredentialList{}, err
	}
	creds, more := ids.Credentials(after, prefix, limit)
	out := CredentialList{Credentials: make([]Credential, len(creds))}
	for i, c := range creds {
		out.Credentials[i] = credentialOf(c)
	}
	if more {
		out.Next = encodeCursor(creds[len(creds)-1].CID)
	}
	return out, nil
}

// GetCredential is GET /v1/credentials/{cid}.
func (a *API) GetCredential(cid string) (Credential, error) {
	ids, err := a.ids()
	if err != nil {
		return Credential{}, err
	}
	if err := lookupCID(cid, noCredential); err != nil {
		return Credential{}, err
	}
	c, ok := ids.Credential(cid)
	if !ok {
		return Credential{}, notFound(noCredential(cid))
	}
	return credentialOf(c), nil
}

// DeleteCredential is DELETE /v1/credentials/{cid}: the live session of
// cid is closed with 190 revoked.
func (a *API) DeleteCredential(ctx context.Context, cid string) error {
	ids, err := a.ids()
	if err != nil {
		return err
	}
	if err := lookupCID(cid, noCredential); err != nil {
		return err
	}
	err = ids.DeleteCredential(ctx, cid)
	if errors.Is(err, identity.ErrNotFound) {
		return notFound(noCredential(cid))
	}
	if err == nil {
		a.eventStored(ctx)
	}
	return storeError(err)
}

// CreateBan is POST /v1/bans; an operator's ban closes the live sessions it
// matches with 190 banned.
func (a *API) CreateBan(ctx context.Context, req BanRequest) (Ban, error) {
	ids, err := a.ids()
	if err != nil {
		return Ban{}, err
	}
	d, err := identity.ParseBanDuration(req.Duration)
	if err != nil {
		return Ban{}, badRequest(identity.BanProblem(err))
	}
	if len(req.Reason) > identity.MaxBanReason {
		return Ban{}, badRequest(fmt.Sprintf("reason is %d bytes; at most %d", len(req.Reason), identity.MaxBanReason))
	}
	b, err := ids.AddBan(ctx, req.Kind, req.Value, protocol.CleanText(req.Reason), d)
	if errors.Is(err, identity.ErrBadBan) {
		return Ban{}, badRequest(identity.BanProblem(err))
	}
	if err != nil {
		return Ban{}, storeError(err)
	}
	a.eventStored(ctx)
	return banOf(b), nil
}

// ListBans is GET /v1/bans: active bans by kind then value, only of kind
// unless it is "". after is the previous page's last ban (from the cursor).
func (a *API) ListBans(kind string, after identity.BanKey, limit int) (BanList, error) {
	ids, err := a.ids()
	if err != nil {
		return BanList{}, err
	}
	switch kind {
	case "", identity.KindCID, identity.KindIP, identity.KindNet:
	default:
		return BanList{}, badRequest(fmt.Sprintf("kind %q: want cid, ip or net", kind))
	}
	limit, err = pageSize(limit, registry.DefaultPageLimit, registry.MaxPageLimit)
	if err != nil {
		return BanList{}, err
	}
	bans, more := ids.Bans(kind, after, limit)
	out := BanList{Bans: make([]Ban, len(bans))}
	for i, b := range bans {
		out.Bans[i] = banOf(b)
	}
	if more {
		out.Next = encodeCursor(bans[len(bans)-1].Key().String())
	}
	return out, nil
}

// DeleteBan is DELETE /v1/bans/{kind}/{value}.
func (a *API) DeleteBan(ctx context.Context, kind, value string) error {
	ids, err := a.ids()
	if err != nil {
		return err
	}
	err = ids.DeleteBan(ctx, kind, value)
	switch {
	case errors.Is(err, identity.ErrBadBan) && slices.Contains(identity.Kinds(), kind):
		// A value no ban can hold is no ban (IDENTITY.md: 204 or 404), as
		// DELETE /v1/credentials/{cid} of a bad ID is; it was a 400.
		return notFound(fmt.Sprintf("no ban %s %s: %s", kind, value, identity.BanProblem(err)))
	case errors.Is(err, identity.ErrBadBan):
		return badRequest(identity.BanProblem(err))
	case errors.Is(err, identity.ErrNotFound):
		return notFound(fmt.Sprintf("no ban %s %s", kind, value))
	case err == nil:
		a.eventStored(ctx)
	}
	return storeError(err)
}

// eventStoredWait bounds eventStored: a change is answered after it
// however its event fares (a disk that does not answer).
const eventStoredWait = 3 * time.Second

// eventStored waits for the event log to hold the event of the
// operator's change just made (credential.created, credential.deleted,
// ban.created, ban.deleted), as the change itself is on disk before its
// answer: before, a kill -9 right after the 2xx kept the credential or
// the ban and lost its event, every time (crash audit). A log that fails
// or is slow answers anyway: the change is made, and its event waits in
// memory as for any other (Healthy, /readyz).
func (a *API) eventStored(ctx context.Context) {
	s, ok := a.opts.events.(interface{ Stored(context.Context) error })
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, eventStoredWait)
	defer cancel()
	if err := s.Stored(ctx); err != nil {
		a.opts.log.Debug("admin: an identity change answered before its event was stored", zap.Error(err))
	}
}

// decodeBanCursor reads a ban cursor back (see encodeCursor).
func decodeBanCursor(s string) (identity.BanKey, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		if k, ok := identity.ParseBanKey(string(b)); ok {
			return k, nil
		}
	}
	return identity.BanKey{}, badRequest("cursor is not one this API gave out: pass the \"next\" of the previous page unchanged")
}

// storeError is the answer to a write the store refused: 503.
func storeError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, identity.ErrNotReady):
		// A 503 as a command's while the server starts or drains, but in
		// words of its own: "not accepting clients" read as odd for a
		// credential (durability audit).
		return &requestError{msg: "credentials and bans take no writes while the server is starting or stopping; try again once it is ready",
			base: ErrDraining}
	}
	// A store that cannot write (a full disk, NATS away) is a passing
	// state of the server, not a fault of the request: 503, try again.
	return &requestError{msg: fmt.Sprintf("identity store cannot write, try again later: %v", err), base: ErrUnavailable}
}

func credentialOf(c identity.Credential) Credential {
	out := Credential{CID: c.CID, CreatedAt: formatTime(c.CreatedAt)}
	if t := c.GraceUntil(time.Now()); t != nil {
		s := formatDeadline(*t)
		out.PreviousValidUntil = &s
	}
	return out
}

func banOf(b identity.Ban) Ban {
	out := Ban{Kind: b.Kind, Value: b.Value, Reason: b.Reason, By: b.By, At: formatTime(b.At)}
	if b.Until != nil {
		s := formatDeadline(*b.Until)
		out.Until = &s
	}
	return out
}

func noCredential(cid string) string { return fmt.Sprintf("no credential for %q", cid) }

package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

// CreateCredential enrolls cid (or rotates its secret); grace "" or a
// duration such as "24h" during which the previous secret still works.
func (c *Client) CreateCredential(ctx context.Context, cid, grace string) (Credential, error) {
	var body []byte
	if grace != "" {
		body, _ = json.Marshal(CredentialRequest{Grace: grace})
	}
	var out Credential
	err := c.do(ctx, http.MethodPost, "/v1/credentials/"+pathSegment(cid), body, http.StatusCreated, &out)
	return out, err
}

// ListCredentials fetches one page of credentials (limit 0: the default).
func (c *Client) ListCredentials(ctx context.Context, limit int, cursor string) (CredentialList, error) {
	var out CredentialList
	err := c.do(ctx, http.MethodGet, "/v1/credentials"+pageQuery(nil, limit, cursor), nil, http.StatusOK, &out)
	return out, err
}

// GetCredential fetches cid's credential (never a secret).
func (c *Client) GetCredential(ctx context.Context, cid string) (Credential, error) {
	var out Credential
	err := c.do(ctx, http.MethodGet, "/v1/credentials/"+pathSegment(cid), nil, http.StatusOK, &out)
	return out, err
}

// DeleteCredential removes cid's credential; its live session is closed
// with 190 revoked.
func (c *Client) DeleteCredential(ctx context.Context, cid string) error {
	return c.do(ctx, http.MethodDelete, "/v1/credentials/"+pathSegment(cid), nil, http.StatusNoContent, nil)
}

// CreateBan adds a ban.
func (c *Client) CreateBan(ctx context.Context, req BanRequest) (Ban, error) {
	body, _ := json.Marshal(req)
	var out Ban
	err := c.do(ctx, http.MethodPost, "/v1/bans", body, http.StatusCreated, &out)
	return out, err
}

// ListBans fetches one page of active bans, of kind unless it is "".
func (c *Client) ListBans(ctx context.Context, kind string, limit int, cursor string) (BanList, error) {
	q := url.Values{}
	if kind != "" {
		q.Set("kind", kind)
	}
	var out BanList
	err := c.do(ctx, http.MethodGet, "/v1/bans"+pageQuery(q, limit, cursor), nil, http.StatusOK, &out)
	return out, err
}

// DeleteBan lifts a ban; value is path-escaped ("10.1.0.0%2F16").
func (c *Client) DeleteBan(ctx context.Context, kind, value string) error {
	return c.do(ctx, http.MethodDelete, "/v1/bans/"+pathSegment(kind)+"/"+pathSegment(value), nil, http.StatusNoContent, nil)
}

package ui_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// longLists is one more than the 1,000 entries the lists once fetched.
const longLists = 1001

// fill sends n requests (the i-th from req(i)) with a few workers and
// fails the test on any answer but want.
func fill(t *testing.T, s *testkit.Served, n, want int, req func(i int) (method, path, body string)) {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var bad []string
	next := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				m, path, body := req(i)
				r, err := http.NewRequest(m, s.AdminURL(t)+path, strings.NewReader(body))
				if err == nil {
					if body != "" {
						r.Header.Set("Content-Type", "application/json")
					}
					var res *http.Response
					if res, err = http.DefaultClient.Do(r); err == nil {
						res.Body.Close()
						if res.StatusCode != want {
							err = fmt.Errorf("status %d", res.StatusCode)
						}
					}
				}
				if err != nil {
					mu.Lock()
					bad = append(bad, path+": "+err.Error())
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	require.Empty(t, bad)
}

// pageTo clicks Next until sel is in the page, at most pages times.
func (p *page) pageTo(sel string, pages int) int {
	p.t.Helper()
	for n := 0; ; n++ {
		var there bool
		p.eval(`!!document.querySelector(`+jsString(sel)+`)`, &there)
		if there {
			return n
		}
		if n == pages {
			p.t.Fatalf("%s not in the page after %d clicks on Next", sel, n)
		}
		var info string
		p.eval(`document.querySelector('#page-next')?.disabled === false ? document.getElementById('page-info').textContent : ''`, &info)
		if info == "" {
			p.t.Fatalf("%s not in the page and no Next to press (after %d pages)", sel, n)
		}
		p.click(`#page-next`)
		p.waitJS(`document.getElementById('page-info').textContent !== `+jsString(info)+` && !document.getElementById('page-info').textContent.includes('loading')`, 5*time.Second)
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Credentials and bans are paged with the API's cursor: past 1,000 every
// entry can be reached and removed. Rotating a credential asks first.
func TestDashboardLongLists(t *testing.T) {
	needChromium(t)
	s := serve(t, nil)
	start := time.Now()
	fill(t, s, longLists, http.StatusCreated, func(i int) (string, string, string) {
		return http.MethodPost, fmt.Sprintf("/v1/credentials/cred-%04d", i), ""
	})
	fill(t, s, longLists, http.StatusCreated, func(i int) (string, string, string) {
		return http.MethodPost, "/v1/bans", fmt.Sprintf(`{"kind": "cid", "value": "ban-%04d", "reason": "lab"}`, i)
	})
	t.Logf("%d credentials and %d bans created in %s", longLists, longLists, time.Since(start).Round(time.Millisecond))
	base := "http://" + s.AdminAddr
	p := newBrowser(t)

	t.Run("Credentials", func(t *testing.T) {
		p.t = t
		p.open(base + "/ui/#/credentials")
		p.waitJS(`document.querySelector('#creds-body a')?.textContent === 'cred-0000'`, 10*time.Second)
		last := fmt.Sprintf(`#creds-body tr[data-cid="cred-%04d"]`, longLists-1)
		n := p.pageTo(last, 20)
		t.Logf("cred-%04d reached after %d pages", longLists-1, n)
		p.click(last + ` button`)
		p.confirm()
		p.waitJS(`!document.querySelector(`+jsString(last)+`)`, 5*time.Second)
		status, _ := apiDo(t, s, "", http.MethodGet, fmt.Sprintf("/v1/credentials/cred-%04d", longLists-1), "")
		assert.Equal(t, http.StatusNotFound, status, "deleted from the last page")
		p.waitDone(http.MethodDelete, fmt.Sprintf("/v1/credentials/cred-%04d", longLists-1), 10*time.Second)
		assert.Empty(t, p.Problems(), "the 204 read, not cancelled")
	})

	t.Run("Bans", func(t *testing.T) {
		p.t = t
		p.open(base + "/ui/#/bans")
		p.waitJS(`document.querySelector('#bans-body tr')?.children[1].textContent === 'ban-0000'`, 10*time.Second)
		last := fmt.Sprintf(`#bans-body tr[data-ban="cid/ban-%04d"]`, longLists-1)
		n := p.pageTo(last, 20)
		t.Logf("ban-%04d reached after %d pages", longLists-1, n)
		p.click(last + ` button`)
		p.confirm()
		p.waitJS(`!document.querySelector(`+jsString(last)+`)`, 5*time.Second)
		var bans struct {
			Bans []struct{ Value string } `json:"bans"`
			Next string                   `json:"next"`
		}
		apiGet(t, s, "", "/v1/bans?limit=1000", &bans)
		require.Len(t, bans.Bans, longLists-1, "the last ban was lifted")
		assert.Empty(t, bans.Next)
		assert.Equal(t, fmt.Sprintf("ban-%04d", longLists-2), bans.Bans[len(bans.Bans)-1].Value)
		p.waitDone(http.MethodDelete, fmt.Sprintf("/v1/bans/cid/ban-%04d", longLists-1), 10*time.Second)
		assert.Empty(t, p.Problems(), "the 204 read, not cancelled")
	})

	t.Run("RotationAsksFirst", func(t *testing.T) {
		p.t = t
		var before struct {
			CreatedAt string `json:"created_at"`
		}
		apiGet(t, s, "", "/v1/credentials/cred-0001", &before)
		p.open(base + "/ui/#/credentials")
		p.waitJS(`document.querySelector('#creds-body a')?.textContent === 'cred-0000'`, 10*time.Second)
		p.run(chromedp.SetValue(`#cred-cid`, "cred-0001", chromedp.ByQuery), chromedp.Click(`#cred-form button[type=submit]`, chromedp.ByQuery))
		p.waitJS(`document.getElementById('confirm').open`, 5*time.Second)
		var title string
		p.eval(`document.getElementById('confirm-title').textContent`, &title)
		assert.Contains(t, title, "cred-0001")
		p.click(`#confirm-cancel`)
		p.waitJS(`!document.getElementById('confirm').open`, 5*time.Second)
		var after struct {
			CreatedAt string `json:"created_at"`
		}
		apiGet(t, s, "", "/v1/credentials/cred-0001", &after)
		assert.Equal(t, before.CreatedAt, after.CreatedAt, "cancelled: the credential is not rotated")
		var secret bool
		p.eval(`!!document.getElementById('secret-value')`, &secret)
		assert.False(t, secret)
		// A new one needs no confirmation; a rotation confirmed rotates.
		p.run(chromedp.SetValue(`#cred-cid`, "cred-new", chromedp.ByQuery), chromedp.Click(`#cred-form button[type=submit]`, chromedp.ByQuery))
		p.waitJS(`document.getElementById('secret-value')?.textContent.length > 10`, 5*time.Second)
		p.run(chromedp.SetValue(`#cred-cid`, "cred-0001", chromedp.ByQuery), chromedp.SetValue(`#cred-grace`, "1h", chromedp.ByQuery),
			chromedp.Click(`#cred-form button[type=submit]`, chromedp.ByQuery))
		p.waitJS(`document.getElementById('confirm').open && document.getElementById('confirm-text').textContent.includes('keeps working for 1h')`, 5*time.Second)
		p.confirm()
		p.waitJS(`document.getElementById('secret-value')?.parentElement.textContent.includes('cred-0001')`, 5*time.Second)
		var rotated struct {
			PreviousValidUntil *string `json:"previous_valid_until"`
		}
		apiGet(t, s, "", "/v1/credentials/cred-0001", &rotated)
		assert.NotNil(t, rotated.PreviousValidUntil, "confirmed: rotated, the previous secret valid for the grace")
		assert.Empty(t, p.Problems())
	})
}

package ui_test

import (
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// A webhook receiver that does not acknowledge is on every view, in the
// words /readyz uses, for as long as it fails; the line goes once the
// receiver acknowledges again. Its time is the page's local time, as on
// every view: it read /readyz's UTC beside event rows in Tokyo's.
func TestDashboardSaysWhenTheWebhookFails(t *testing.T) {
	needChromium(t)
	recv := testkit.NewReceiver(t, http.StatusServiceUnavailable)
	s := serve(t, []string{"CLISER_WEBHOOK_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
		"--webhook-url", recv.URL+"/hook", "--webhook-linger", "20ms")
	p := newBrowser(t)
	const zone = "Asia/Tokyo"
	p.run(emulation.SetTimezoneOverride(zone))
	p.open("http://" + s.AdminAddr + "/ui/#/clients")
	p.waitJS(`document.getElementById('health').hidden`, 10*time.Second)
	register(t, s, "hooked-1") // an event for the receiver to refuse

	banner := `document.getElementById('health')`
	p.waitJS(`!`+banner+`.hidden && `+banner+`.querySelector('li[data-key=webhook]')?.textContent.startsWith('webhook: `+recv.URL+`/hook has not acknowledged since')`, 20*time.Second)
	var text string
	p.eval(banner+`.textContent`, &text)
	assert.Contains(t, text, "(last answer: http_5xx (HTTP 503)); retrying, 1 event waits")
	var health struct{ Notes map[string]string }
	apiGet(t, s, "", "/v1/health", &health)
	utc := regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z`)
	since, err := time.Parse(time.RFC3339Nano, utc.FindString(health.Notes["webhook"]))
	require.NoError(t, err, "no UTC time in the note %q", health.Notes["webhook"])
	tokyo, err := time.LoadLocation(zone)
	require.NoError(t, err)
	assert.Contains(t, text, "since "+since.In(tokyo).Format(time.DateTime), "the banner's time is not Tokyo's")
	assert.NotRegexp(t, utc, text, "a UTC time is left in the banner")
	var unready bool
	p.eval(banner+`.classList.contains('unready')`, &unready)
	assert.False(t, unready, "a failing webhook leaves the server ready")
	p.screenshot("health")

	recv.Down.Store(false)
	p.waitJS(banner+`.hidden`, 30*time.Second)
	assert.Empty(t, p.Problems())
}

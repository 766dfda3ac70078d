package ui_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/cliser/cliser/internal/testkit"
)

// A webhook receiver that does not acknowledge is on every view, in the
// words /readyz uses, for as long as it fails; the line goes once the
// receiver acknowledges again.
func TestDashboardSaysWhenTheWebhookFails(t *testing.T) {
	needChromium(t)
	recv := testkit.NewReceiver(t, http.StatusServiceUnavailable)
	s := serve(t, []string{"CLISER_WEBHOOK_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
		"--webhook-url", recv.URL+"/hook", "--webhook-linger", "20ms")
	p := newBrowser(t)
	p.open("http://" + s.AdminAddr + "/ui/#/clients")
	p.waitJS(`document.getElementById('health').hidden`, 10*time.Second)
	register(t, s, "hooked-1") // an event for the receiver to refuse

	banner := `document.getElementById('health')`
	p.waitJS(`!`+banner+`.hidden && `+banner+`.querySelector('li[data-key=webhook]')?.textContent.startsWith('webhook: `+recv.URL+`/hook has not acknowledged since')`, 20*time.Second)
	var text string
	p.eval(banner+`.textContent`, &text)
	assert.Contains(t, text, "(last answer: http_5xx (HTTP 503)); retrying, 1 event waits")
	var unready bool
	p.eval(banner+`.classList.contains('unready')`, &unready)
	assert.False(t, unready, "a failing webhook leaves the server ready")
	p.screenshot("health")

	recv.Down.Store(false)
	p.waitJS(banner+`.hidden`, 30*time.Second)
	assert.Empty(t, p.Problems())
}

// Package ui is the operator's dashboard: a page of plain JavaScript
// modules and CSS, embedded in the binary and served by the admin listener
// at /ui/ (admin.WithUI). It reads and commands through the public admin
// API only, with the operator's token when one is set.
package ui

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var files embed.FS

// CSP allows the page's own scripts, styles, images and API calls and
// nothing else: no inline script, no frame around it, no plugin, no form
// posted elsewhere.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; " +
	"frame-ancestors 'none'"

// Handler serves the files under /ui/, and /favicon.ico, with the
// security headers on every answer, errors included. Safe from any
// goroutine.
func Handler() http.Handler {
	sub, _ := fs.Sub(files, "static") // a literal directory of this package
	fileServer := http.StripPrefix("/ui/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		// The files change with the binary: revalidate rather than run an
		// old script against a new API.
		h.Set("Cache-Control", "no-cache")
		if r.URL.Path == "/favicon.ico" {
			http.ServeFileFS(w, r, sub, "favicon.svg")
			return
		}
		fileServer.ServeHTTP(w, r)
	})
}

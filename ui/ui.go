// Package ui is the operator's dashboard: a page of plain JavaScript
// modules and CSS, embedded in the binary and served by the admin listener
// at /ui/ (admin.WithUI). It reads and commands through the public admin
// API only, with the operator's token when one is set.
package ui

import (
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"strings"
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
		if missing(sub, strings.TrimPrefix(r.URL.Path, "/ui/")) {
			notFound(w, r.URL.Path)
			return
		}
		fileServer.ServeHTTP(w, r)
	})
}

// missing reports whether name is a path the dashboard has no file or
// directory at: one that is no such path ("../v1/clients", sent encoded)
// too, which the file server answered in plain text (found by the
// interface audit).
func missing(files fs.FS, name string) bool {
	name = strings.TrimSuffix(name, "/")
	if name == "" {
		return false
	}
	if !fs.ValidPath(name) {
		return true
	}
	_, err := fs.Stat(files, name)
	return errors.Is(err, fs.ErrNotExist)
}

// notFound is the admin API's error, a JSON 404 (INTERFACE.md: errors are
// JSON too), in place of the file server's text.
func notFound(w http.ResponseWriter, path string) {
	body, _ := json.Marshal(map[string]string{"error": "no file " + path + " in the dashboard: its page is /ui/"})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write(append(body, '\n'))
}

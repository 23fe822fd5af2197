package server

import "net/http"

// pageCSP is the Content-Security-Policy of every answer, set here and
// nowhere else. The pages are server-rendered HTML with no script at all:
// they load their own stylesheet ('self', never an inline <style>), submit
// forms to this server, and draw the margin chart as inline SVG, which is
// markup and needs no source. Everything else (script, images, fonts,
// frames, connections) falls to default-src 'none'. base-uri and
// form-action do not fall back to default-src, so they are named;
// frame-ancestors keeps the pages (and the client's sign-off buttons) out
// of other sites' frames.
const pageCSP = "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// securityHeaders wraps every route, so a page added later, an error page
// or the mux's own 404 gets the policy too. nosniff keeps browsers from
// reading user text in JSON or plain-text answers as HTML. The dashboard
// sends a Referer only to itself, so following a deliverable's link does
// not tell another site where the worker is; the client pages send none
// (clientHeaders), since their URL is the secret.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", pageCSP)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

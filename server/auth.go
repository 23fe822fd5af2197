package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
)

// credentials is what an Authorization header presents: its scheme, in
// lower case, and the secret (a bearer token, or basic auth's password).
type credentials struct {
	scheme, secret string
}

// parseAuthorization reads Bearer and Basic credentials. Every endpoint
// that takes a secret reads the header here, so none can disagree on what
// it accepts: the scheme is case-insensitive (RFC 9110 §11.1), and clients
// and proxies differ in the spaces they put around and after it.
func parseAuthorization(h string) (credentials, bool) {
	h = strings.TrimSpace(h)
	i := strings.IndexAny(h, " \t")
	if i < 0 {
		return credentials{}, false
	}
	scheme, rest := strings.ToLower(h[:i]), strings.TrimSpace(h[i:])
	switch scheme {
	case "bearer":
		return credentials{scheme: scheme, secret: rest}, true
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return credentials{}, false
		}
		// Any user name: the password is the secret, so a browser's login
		// prompt works.
		_, pw, ok := strings.Cut(string(raw), ":")
		return credentials{scheme: scheme, secret: pw}, ok
	}
	return credentials{}, false
}

// secretCheck holds a configured secret's hash. Comparing hashes keeps the
// comparison constant-time whatever the length of what was presented.
type secretCheck [sha256.Size]byte

func newSecretCheck(secret string) secretCheck { return sha256.Sum256([]byte(secret)) }

func (c secretCheck) matches(presented string) bool {
	got := sha256.Sum256([]byte(presented))
	return subtle.ConstantTimeCompare(got[:], c[:]) == 1
}

// An app written for Cloudflare Access, as Cloudflare's "Validate JWTs" guide has a Go server do
// it with github.com/coreos/go-oidc: a verifier for the team domain's issuer, the keys at
// `<team domain>/cdn-cgi/access/certs` and the application's audience tag, checked on every
// request. Its settings are TEAM_DOMAIN and POLICY_AUD (ADDR is where it listens). Behind
// gatehouse, TEAM_DOMAIN names gatehouse's URL for the app; nothing here knows about gatehouse.
// Built in GOPATH mode against Debian's golang-github-coreos-go-oidc-dev (go-oidc 2.1.0, the
// API of the guide's example); see tests/e2e/cloudflare_access.test.mjs.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"

	"github.com/coreos/go-oidc"
)

var (
	ctx        = context.TODO()
	teamDomain = os.Getenv("TEAM_DOMAIN")
	certsURL   = fmt.Sprintf("%s/cdn-cgi/access/certs", teamDomain)
	policyAUD  = os.Getenv("POLICY_AUD")

	config = &oidc.Config{
		ClientID: policyAUD,
	}
	keySet   = oidc.NewRemoteKeySet(ctx, certsURL)
	verifier = oidc.NewVerifier(teamDomain, keySet, config)
)

type verified struct{}

// VerifyToken is the middleware of the guide: no token or an invalid one is a 401.
func VerifyToken(next http.Handler) http.Handler {
	fn := func(w http.ResponseWriter, r *http.Request) {
		accessJWT := r.Header.Get("Cf-Access-Jwt-Assertion")
		if accessJWT == "" {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte("No token on the request"))
			return
		}
		token, err := verifier.Verify(r.Context(), accessJWT)
		if err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(fmt.Sprintf("Invalid token: %s", err.Error())))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), verified{}, token)))
	}
	return http.HandlerFunc(fn)
}

// MainHandler answers with what the verified token says.
func MainHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.Context().Value(verified{}).(*oidc.IDToken)
		var claims map[string]interface{}
		if err := token.Claims(&claims); err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]interface{}{"issuer": token.Issuer, "audience": token.Audience, "subject": token.Subject, "claims": claims})
	})
}

func main() {
	http.Handle("/", VerifyToken(MainHandler()))
	if err := http.ListenAndServe(os.Getenv("ADDR"), nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// An origin that accepts only requests gatehouse sent: it verifies the Gatehouse-Assertion
// header with Go's standard library and answers 401 otherwise (README "Locking the origin to
// gatehouse").
//
//	GATEHOUSE_APP=https://wiki.example.com PORT=8080 go run verify.go
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

var app = os.Getenv("GATEHOUSE_APP") // the app's URL: its issuer and the assertion's audience

var (
	mu      sync.Mutex
	keys    = map[string]*ecdsa.PublicKey{}
	fetched time.Time
)

// key is the JWKS key named kid; the JWKS is fetched again for an unknown kid, at most every 10 s.
func key(kid string) (*ecdsa.PublicKey, error) {
	mu.Lock()
	defer mu.Unlock()
	if k, ok := keys[kid]; ok || time.Since(fetched) < 10*time.Second {
		return k, nil
	}
	fetched = time.Now()
	res, err := http.Get(app + "/oauth/jwks.json")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var set struct {
		Keys []struct{ Kid, Kty, Crv, X, Y string }
	}
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil {
		return nil, err
	}
	for _, k := range set.Keys {
		x, errX := base64.RawURLEncoding.DecodeString(k.X)
		y, errY := base64.RawURLEncoding.DecodeString(k.Y)
		if k.Kty == "EC" && k.Crv == "P-256" && errX == nil && errY == nil {
			keys[k.Kid] = &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}
		}
	}
	return keys[kid], nil
}

// verify checks the assertion's ES256 signature, typ, iss, aud and exp, and returns its claims.
func verify(token string) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWT")
	}
	var header struct{ Alg, Typ, Kid string }
	claims := map[string]any{}
	h, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	p, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	for _, err := range []error{err1, err2, err3, json.Unmarshal(h, &header), json.Unmarshal(p, &claims)} {
		if err != nil {
			return nil, err
		}
	}
	if header.Alg != "ES256" || header.Typ != "gatehouse-assertion+jwt" || len(sig) != 64 {
		return nil, errors.New("not a gatehouse assertion")
	}
	k, err := key(header.Kid)
	if err != nil || k == nil {
		return nil, errors.New("unknown key")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(k, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return nil, errors.New("bad signature")
	}
	exp, _ := claims["exp"].(float64)
	if claims["iss"] != app || claims["aud"] != app || time.Now().Unix() >= int64(exp) {
		return nil, errors.New("not for this app, or expired")
	}
	return claims, nil
}

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		claims, err := verify(r.Header.Get("Gatehouse-Assertion"))
		if err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"email": claims["email"], "client_id": claims["client_id"]})
	})
	http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil)
}

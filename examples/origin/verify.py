"""An origin that accepts only requests gatehouse sent: it verifies the Gatehouse-Assertion
header with PyJWT and answers 401 otherwise (README "Locking the origin to gatehouse").
    pip install 'pyjwt[crypto]'
    GATEHOUSE_APP=https://wiki.example.com PORT=8080 python3 verify.py
"""
import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt

APP = os.environ["GATEHOUSE_APP"]  # the app's URL: its issuer and the assertion's audience
JWKS = jwt.PyJWKClient(f"{APP}/oauth/jwks.json")  # cached; refetched on an unknown kid


class Origin(BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            token = self.headers.get("Gatehouse-Assertion", "")
            if jwt.get_unverified_header(token).get("typ") != "gatehouse-assertion+jwt":
                raise jwt.InvalidTokenError("typ")
            key = JWKS.get_signing_key_from_jwt(token).key
            claims = jwt.decode(token, key, algorithms=["ES256"], audience=APP, issuer=APP)
        except jwt.PyJWTError:
            self.send_response(401)
            self.end_headers()
            return
        body = json.dumps({"email": claims["email"], "client_id": claims.get("client_id")})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())


HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Origin).serve_forever()

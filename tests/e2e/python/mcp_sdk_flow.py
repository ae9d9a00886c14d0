"""The MCP Python SDK's own OAuth client, unmodified, against gatehouse.

    .venv/bin/python tests/e2e/python/mcp_sdk_flow.py http://127.0.0.1:8787

Protects `<base>/api/whoami` (the built-in demo app of the local configuration) with the SDK's
`OAuthClientProvider` as the `httpx2.Auth` of an `httpx2.AsyncClient`, and makes one GET. The
`401` challenge sends the SDK through discovery (RFC 9728, RFC 8414), dynamic registration
(RFC 7591), the authorization request with PKCE S256 and `resource` (RFC 8707), and the token
exchange; the redirect handler plays the person (demo account login, consent). Prints one JSON
line with what it observed and exits 0, or prints why it failed and exits 1.
"""

import asyncio
import json
import sys
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx2
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

EMAIL = "alice@example.com"
PASSWORD = "gatehouse-demo"
REDIRECT = "http://127.0.0.1:9/callback"
TIMEOUT = httpx2.Timeout(30.0)


class Failure(Exception):
    pass


class MemoryStorage:
    """The SDK's TokenStorage, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


class Form(HTMLParser):
    """The first POST form of a page: its action, hidden fields and input names."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.action: str | None = None
        self.hidden: dict[str, str] = {}
        self.names: set[str] = set()
        self.values: set[str] = set()
        self._in_form = False
        self._done = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self._done and a.get("method", "").lower() == "post":
            self.action, self._in_form = a.get("action", ""), True
        elif self._in_form and tag in ("input", "button"):
            if a.get("type") == "hidden":
                self.hidden[a.get("name", "")] = a.get("value", "")
            self.names.add(a.get("name", ""))
            self.values.add(a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._in_form:
            self._in_form, self._done = False, True


class Person:
    """A person's browser: a cookie jar for gatehouse's origin and no automatic redirects.

    Cookies are kept by hand, as a browser does: gatehouse's `__Host-` cookies are `Secure`, and
    browsers send those to http://127.0.0.1 (a secure context), which Python's cookie jar will not.
    """

    def __init__(self, base: str) -> None:
        self.origin = "{0.scheme}://{0.netloc}".format(urlsplit(base))
        self.cookies: dict[str, str] = {}
        self.http = httpx2.AsyncClient(timeout=TIMEOUT, follow_redirects=False)
        self.steps: list[str] = []
        self.authorization_url: str | None = None
        self.callback: str | None = None

    async def fetch(self, method: str, url: str, **kwargs) -> httpx2.Response:
        url = urljoin(self.origin + "/", url)
        headers = {"accept": "text/html", "sec-fetch-mode": "navigate"}
        if self.cookies and url.startswith(self.origin + "/"):
            headers["cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        res = await self.http.request(method, url, headers=headers, **kwargs)
        for line in res.headers.get_list("set-cookie"):
            name, _, value = line.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value.strip()
        self.steps.append(f"{method} {urlsplit(url).path} -> {res.status_code}")
        return res

    async def submit(self, page: httpx2.Response, fields: dict[str, str]) -> httpx2.Response:
        form = Form(page.text)
        if form.action is None:
            raise Failure(f"no form on the page at {page.request.url}")
        return await self.fetch("POST", urljoin(str(page.request.url), form.action), data={**form.hidden, **fields})

    async def redirect_handler(self, authorization_url: str) -> None:
        """Given the SDK's authorization URL: log in, approve, keep the final redirect's Location."""
        self.authorization_url = authorization_url
        res = await self.fetch("GET", authorization_url)
        if res.status_code == 200 and "password" in Form(res.text).names:
            res = await self.submit(res, {"email": EMAIL, "password": PASSWORD})
            if res.status_code != 303:
                raise Failure(f"login answered {res.status_code}: {res.text[:500]}")
            res = await self.fetch("GET", urljoin(str(res.request.url), res.headers["location"]))
        if res.status_code == 200 and "approve" in Form(res.text).values:
            res = await self.submit(res, {"decision": "approve"})
        location = res.headers.get("location")
        if res.status_code not in (302, 303) or not location:
            raise Failure(f"expected the redirect back to the client, got {res.status_code}: {res.text[:500]}")
        if not location.startswith(REDIRECT + "?"):
            raise Failure(f"redirected to {location}, not to {REDIRECT}")
        self.callback = location  # not followed: nothing listens on 127.0.0.1:9

    async def callback_handler(self) -> AuthorizationCodeResult:
        """What a loopback listener at the redirect URI would hand the SDK: code, state and iss."""
        if self.callback is None:
            raise Failure("the callback handler ran before the person was redirected")
        query = parse_qs(urlsplit(self.callback).query)
        if "error" in query:
            raise Failure(f"authorization refused: {self.callback}")
        one = lambda name: query[name][0] if name in query else None  # noqa: E731
        return AuthorizationCodeResult(code=one("code") or "", state=one("state"), iss=one("iss"))


def sdk_provider(server_url: str, client_name: str, storage: MemoryStorage, person: Person) -> OAuthClientProvider:
    """The SDK's OAuth client for `server_url`, registering as a public native client named
    `client_name`, with `person` playing the browser."""
    return OAuthClientProvider(
        server_url=server_url,
        client_metadata=OAuthClientMetadata(
            client_name=client_name,
            redirect_uris=[REDIRECT],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=person.redirect_handler,
        callback_handler=person.callback_handler,
    )


async def run(base: str) -> dict:
    server_url = f"{base}/api/whoami"
    storage = MemoryStorage()
    person = Person(base)
    provider = sdk_provider(server_url, "MCP Python SDK", storage, person)

    # Every request the client sends, the SDK's own discovery, registration and token requests
    # included, as "METHOD path -> status".
    sdk_requests: list[str] = []

    async def log_response(response: httpx2.Response) -> None:
        sdk_requests.append(f"{response.request.method} {response.request.url.raw_path.decode()} -> {response.status_code}")

    try:
        async with httpx2.AsyncClient(auth=provider, timeout=TIMEOUT, event_hooks={"response": [log_response]}) as client:
            res = await client.get(server_url)
    finally:
        await person.http.aclose()

    if res.status_code != 200:
        raise Failure(f"GET {server_url} answered {res.status_code} after the flow: {res.text[:500]}")
    body = res.json()
    client_id = storage.client_info.client_id if storage.client_info else None
    if body.get("gatehouse-email") != EMAIL:
        raise Failure(f"the app saw gatehouse-email {body.get('gatehouse-email')!r}, not {EMAIL}")
    if not client_id or body.get("gatehouse-client-id") != client_id:
        raise Failure(f"the app saw gatehouse-client-id {body.get('gatehouse-client-id')!r}, the SDK registered {client_id!r}")
    authorize = parse_qs(urlsplit(person.authorization_url or "").query)
    tokens = storage.tokens
    return {
        "status": res.status_code,
        "email": body["gatehouse-email"],
        "client_id": client_id,
        "app_client_id": body.get("gatehouse-client-id"),
        "refresh_token_stored": bool(tokens and tokens.refresh_token),
        "token_type": tokens.token_type if tokens else None,
        "scope": tokens.scope if tokens else None,
        "authorize": {k: v[0] for k, v in authorize.items() if k not in ("code_challenge", "state")},
        "sdk_requests": sdk_requests,
        "person_requests": person.steps,
    }


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: mcp_sdk_flow.py <gatehouse base URL>", file=sys.stderr)
        return 2
    try:
        observed = asyncio.run(run(sys.argv[1].rstrip("/")))
    except Exception as error:  # noqa: BLE001 - every failure is reported and exits non-zero
        print(f"mcp_sdk_flow: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(json.dumps(observed))
    return 0


if __name__ == "__main__":
    sys.exit(main())

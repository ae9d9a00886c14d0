"""A second real origin for the gatekeeper suites: Python's wsgiref, standard library only.

WSGI (like CGI, RFC 3875 §4.1.18) turns every header name into HTTP_<NAME> with "-" read as "_",
so `Gatehouse_Email` and `Gatehouse-Email` land in the same HTTP_GATEHOUSE_EMAIL, joined by ","
when both are sent; and it percent-decodes the path into PATH_INFO. Every request is answered
with a JSON object of what the app saw: the method, PATH_INFO, the raw request line's path, every
HTTP_* variable and the body length.

Prints the port it listens on (127.0.0.1, chosen by the OS), then serves until stdin closes.
"""
import json
import sys
import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server


def app(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    seen = {
        "method": environ["REQUEST_METHOD"],
        "path_info": environ["PATH_INFO"],
        "raw_path": environ.get("RAW_PATH", ""),
        "http": {k: v for k, v in environ.items() if k.startswith("HTTP_")},
        "length": len(body),
    }
    payload = json.dumps(seen).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


class Handler(WSGIRequestHandler):
    def get_environ(self):
        env = super().get_environ()
        env["RAW_PATH"] = self.path.split("?", 1)[0]
        return env

    def log_message(self, *args):
        pass


def main():
    server = make_server("127.0.0.1", 0, app, handler_class=Handler)
    print(server.server_port, flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()  # the test closes stdin (or exits) to stop the origin
    server.shutdown()


if __name__ == "__main__":
    main()

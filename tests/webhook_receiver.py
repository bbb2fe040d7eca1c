"""A webhook receiver for the integration tests, on 127.0.0.1:PORT (0: any free port, printed
as `listening PORT`). Standard library only: it checks each delivery's Standard Webhooks
signature with Python's own `hmac`, against every secret listed (one per line) in DIR/secrets,
and appends each request to DIR/requests.jsonl — path, headers, body, whether a secret verified
it — when it arrives ("received") and when it is answered ("answered").

What it answers depends on the path:
  /ok          204
  /fail-twice  500 "not yet" to the first two requests, then 200 "thanks"
  /always-500  500 "down"
  /slow        waits 30 seconds, then 204 (the sender gives up first)
  /redirect    302 to /ok (a sender must not follow it)
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
COUNTS = {}


def verified(directory, headers, body):
    try:
        with open(os.path.join(directory, "secrets")) as f:
            secrets = [line.strip() for line in f if line.strip()]
    except FileNotFoundError:
        return False
    msg_id, stamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    signed = f"{msg_id}.{stamp}.".encode() + body
    given = [s.split(",", 1)[1] for s in headers.get("webhook-signature", "").split(" ") if s.startswith("v1,")]
    for secret in secrets:
        key = base64.b64decode(secret.removeprefix("whsec_"))
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        if any(hmac.compare_digest(expected, g) for g in given):
            return True
    return False


def handler(directory):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def record(self, stage, body, extra=None):
            entry = {
                "stage": stage,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf8", errors="replace"),
                "verified": verified(directory, {k.lower(): v for k, v in self.headers.items()}, body),
                "at": time.time(),
            }
            entry.update(extra or {})
            with LOCK:
                with open(os.path.join(directory, "requests.jsonl"), "a") as f:
                    f.write(json.dumps(entry) + "\n")

        def answer(self, status, text=b"", location=None):
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            if text:
                self.wfile.write(text)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.record("received", body)
            with LOCK:
                COUNTS[self.path] = COUNTS.get(self.path, 0) + 1
                n = COUNTS[self.path]
            if self.path == "/ok":
                status, text = 204, b""
            elif self.path == "/fail-twice":
                status, text = (500, b"not yet") if n <= 2 else (200, b"thanks")
            elif self.path == "/always-500":
                status, text = 500, b"down"
            elif self.path == "/slow":
                time.sleep(30)
                status, text = 204, b""
            elif self.path == "/redirect":
                self.answer(302, b"", location="/ok")
                self.record("answered", body, {"status": 302})
                return
            else:
                status, text = 404, b"no such path"
            try:
                self.answer(status, text)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.record("answered", body, {"status": status})

    return Handler


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    server = ThreadingHTTPServer(("127.0.0.1", port), handler(directory))
    server.daemon_threads = True
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

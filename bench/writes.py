#!/usr/bin/env python3
"""Durable writes over HTTP: each client applies for a feature activation of one mini program
(its own feature, so clients never collide) and withdraws it again, over and over, through the
console's server functions. Every 2xx answer is one committed write transaction. Prints
`writes=… failed=… seconds=… wps=…`."""

import argparse
import http.client
import sys
import threading
import time
import urllib.parse


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--base", required=True, help="http://127.0.0.1:PORT")
    p.add_argument("--cookie", required=True, help="the signed-in session's Cookie header")
    p.add_argument("--workspace", required=True)
    p.add_argument("--mini-program", required=True)
    p.add_argument("--features", required=True, help="comma-separated feature codes, one per client")
    p.add_argument("--clients", type=int, default=1)
    p.add_argument("--duration", type=float, default=10.0, help="seconds")
    a = p.parse_args()
    features = a.features.split(",")
    if a.clients > len(features):
        print(f"--clients {a.clients}: at most {len(features)} (one feature per client)", file=sys.stderr)
        return 2
    host = urllib.parse.urlparse(a.base)
    deadline = time.monotonic() + a.duration
    ok = [0] * a.clients
    failed = [0] * a.clients
    errors = []

    def post(conn, endpoint, form):
        body = urllib.parse.urlencode(form)
        conn.request("POST", f"/api/{endpoint}", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            "Cookie": a.cookie,
        })
        r = conn.getresponse()
        return r.status, r.read().decode()

    def client(i):
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
        while time.monotonic() < deadline:
            status, body = post(conn, "apply-feature", {"workspace": a.workspace, "id": a.mini_program, "feature": features[i]})
            if status // 100 != 2:
                failed[i] += 1
                errors.append(f"apply-feature {status}: {body[:200]}")
                time.sleep(0.01)
                continue
            ok[i] += 1
            status, body2 = post(conn, "withdraw-application", {"id": body.strip('"\n ')})
            if status // 100 != 2:
                failed[i] += 1
                errors.append(f"withdraw-application {status}: {body2[:200]}")
                continue
            ok[i] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(a.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - started
    for e in errors[:3]:
        print(f"writes: {e}", file=sys.stderr)
    writes = sum(ok)
    print(f"writes={writes} failed={sum(failed)} seconds={seconds:.2f} wps={writes / seconds:.1f}")
    return 0 if writes > 0 else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Cold start: starts `mpdp serve` on a data directory, polls GET /healthz on a raw socket every
millisecond, prints `ms=…` from the process start to the first 200, then stops the server
(SIGTERM) and waits for it."""

import argparse
import os
import signal
import socket
import subprocess
import sys
import time


def healthy(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--bin", required=True)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--port", type=int, required=True)
    a = p.parse_args()
    env = dict(os.environ, MPDP_LOG="warn")
    started = time.monotonic()
    proc = subprocess.Popen([a.bin, "serve", "--listen", f"127.0.0.1:{a.port}", "--data-dir", a.data_dir],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        while not healthy(a.port):
            if proc.poll() is not None:
                print("coldstart: the server exited before answering /healthz", file=sys.stderr)
                return 1
            if time.monotonic() - started > 30:
                print("coldstart: no 200 from /healthz within 30 s", file=sys.stderr)
                return 1
            time.sleep(0.001)
        print(f"ms={(time.monotonic() - started) * 1000:.1f}")
        return 0
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())

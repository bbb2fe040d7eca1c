"""A local SMTP sink for the integration tests: accepts every message on 127.0.0.1:PORT and
writes each to DIR as JSON (envelope recipients and the raw message)."""
import json
import os
import sys
import time
import uuid

from aiosmtpd.controller import Controller


class Save:
    def __init__(self, directory):
        self.directory = directory

    async def handle_DATA(self, server, session, envelope):
        record = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "data": envelope.content.decode("utf8", errors="replace"),
        }
        path = os.path.join(self.directory, f"{time.time_ns()}-{uuid.uuid4().hex}.json")
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        return "250 Message accepted for delivery"


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Save(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()  # runs until the test closes our stdin or kills us
    finally:
        controller.stop()


if __name__ == "__main__":
    main()

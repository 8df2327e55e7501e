"""The chaos drill's mail server: aiosmtpd on loopback, one JSON line per message it accepts.

`python bench/chaos_smtp.py PORT LOG_FILE` runs until SIGTERM. Each accepted message is
appended to LOG_FILE as `{"reference", "to", "subject", "at"}` (the X-Hotline-Reference
header is the outbox row's idempotency key), flushed before the 250 reply, so a message
counted here is a message the sender was told was taken.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from email import message_from_bytes
from email.header import decode_header, make_header

from aiosmtpd.controller import Controller


class Recorder:
    """An aiosmtpd handler that writes one line per accepted message."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd API
        """Record the message, then accept it."""
        message = message_from_bytes(envelope.content)
        subject = str(make_header(decode_header(message.get("Subject", ""))))
        line = {
            "reference": message.get("X-Hotline-Reference", ""),
            "to": list(envelope.rcpt_tos),
            "subject": subject,
            "at": time.time(),
        }
        with self.lock, open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
        return "250 Message accepted for delivery"


def main(port: int, path: str) -> None:
    """Serve on 127.0.0.1:PORT until SIGTERM or SIGINT."""
    controller = Controller(Recorder(path), hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"smtp recorder on 127.0.0.1:{port}", flush=True)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])

"""The chaos drill's services: supervised processes, its own PostgreSQL cluster, the carrier.

Everything listens on 127.0.0.1 only, and everything started here is stopped by `stop_all`
(process groups, so a worker's scheduler child dies with it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def log(message: str) -> None:
    """Print a timestamped line of the drill's narrative."""
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 30.0) -> None:
    """Wait until something accepts connections on 127.0.0.1:PORT."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


@dataclass
class Service:
    """A process the drill runs and, like systemd with Restart=always, restarts when it dies."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    restart: bool = True
    process: subprocess.Popen | None = None
    held: bool = False  # stopped on purpose: do not restart
    restarts: int = 0
    exits: list[int] = field(default_factory=list)

    def start(self) -> None:
        """Start the process in its own process group, output appended to its log."""
        handle = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps it
        self.process = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=ROOT,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        handle.close()
        self.held = False

    @property
    def pid(self) -> int | None:
        """The process id, while it runs."""
        return self.process.pid if self.process and self.process.poll() is None else None

    def signal_group(self, sig: int) -> None:
        """Send SIG to the whole process group."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """SIGKILL the group and reap it; the supervisor restarts it (unless held)."""
        self.signal_group(signal.SIGKILL)
        if self.process is not None:
            self.process.wait()

    def stop(self, timeout: float = 10.0, hold: bool = True) -> None:
        """SIGTERM the group, SIGKILL what is left after TIMEOUT; HOLD keeps it stopped."""
        self.held = hold
        if self.process is None or self.process.poll() is not None:
            self.signal_group(signal.SIGKILL)  # leftovers of a dead leader
            return
        self.signal_group(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        self.signal_group(signal.SIGKILL)
        self.process.wait()


class Supervisor:
    """Restarts services that died (one second later), as a process manager would."""

    def __init__(self) -> None:
        self.services: list[Service] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)

    def add(self, service: Service, start: bool = True) -> Service:
        """Register SERVICE (and start it)."""
        with self._lock:
            self.services.append(service)
            if start:
                service.start()
        return service

    def begin(self) -> None:
        """Start watching."""
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            with self._lock:
                for service in self.services:
                    process = service.process
                    if not service.restart or service.held or process is None:
                        continue
                    code = process.poll()
                    if code is None:
                        continue
                    service.exits.append(code)
                    service.signal_group(signal.SIGKILL)
                    time.sleep(1.0)  # RestartSec=1
                    service.restarts += 1
                    log(f"supervisor: {service.name} exited ({code}); restarted")
                    service.start()

    def stop_all(self) -> None:
        """Stop watching, then stop every service, last started first."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        for service in reversed(self.services):
            try:
                service.stop(timeout=10)
            except Exception as exc:  # noqa: BLE001 - stop the others regardless
                log(f"could not stop {service.name}: {exc}")


class PostgresCluster:
    """A PostgreSQL cluster of the drill's own (Debian's pg_createcluster), trust on loopback."""

    def __init__(self, version: str = "15", name: str = "chaos", port: int = 5440) -> None:
        self.version, self.name, self.port = version, name, port
        self.conf_dir = Path(f"/etc/postgresql/{version}/{name}")

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, *args],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def ensure(self) -> None:
        """Create the cluster if missing; allow passwordless connections from loopback only."""
        if not self.conf_dir.exists():
            log(f"creating PostgreSQL cluster {self.version}/{self.name} on port {self.port}")
            subprocess.run(
                [
                    "pg_createcluster",
                    self.version,
                    self.name,
                    "--port",
                    str(self.port),
                    "-o",
                    "max_connections=200",
                    "-o",
                    "fsync=on",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        # Loopback only. In conf.d, not by pg_createcluster -o: its versions quote the value
        # differently (postgresql-common 248+deb12u2 quotes it a second time).
        listen = self.conf_dir / "conf.d" / "chaos-listen.conf"
        listen.parent.mkdir(exist_ok=True)
        listen.write_text("listen_addresses = '127.0.0.1'\n")
        hba = self.conf_dir / "pg_hba.conf"
        wanted = (
            "# The chaos drill's own cluster: loopback only, no password.\n"
            "local all all trust\n"
            "host all all 127.0.0.1/32 trust\n"
        )
        if hba.read_text() != wanted:
            hba.write_text(wanted)

    def running(self) -> bool:
        """Whether the server accepts connections."""
        done = subprocess.run(
            ["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port)], check=False
        )
        return done.returncode == 0

    def start(self) -> None:
        """Start the cluster and wait until it accepts connections."""
        if not self.running():
            self._ctl("start")
        deadline = time.monotonic() + 30
        while not self.running():
            if time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL did not start")
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop it now: open connections are cut (fast shutdown)."""
        if self.running():
            self._ctl("stop", "-m", "fast")

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of DATABASE in this cluster."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def recreate(self, database: str) -> None:
        """Drop DATABASE if it exists and create it empty."""
        base = ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-q"]
        quiet = {**os.environ, "PGOPTIONS": "-c client_min_messages=warning"}
        drop = f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'
        subprocess.run([*base, "-c", drop], check=True, env=quiet)
        subprocess.run([*base, "-c", f'CREATE DATABASE "{database}"'], check=True, env=quiet)


def render_nginx_conf(template: Path, values: dict[str, str]) -> str:
    """Fill the @NAME@ placeholders of TEMPLATE; refuse to leave one unfilled."""
    text = template.read_text()
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    left = sorted(set(re.findall(r"@([A-Z_]+)@", text)))
    if left:
        raise ValueError(f"unfilled placeholders in {template.name}: {', '.join(left)}")
    return text


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """Make a throw-away certificate for 127.0.0.1 (TLS ends at nginx, as in production)."""
    cert, key = directory / "tls.crt", directory / "tls.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return cert, key


class Carrier:
    """The SMS carrier's send API on loopback: checks the signature, records every SMS taken.

    An SMS is recorded by its `message_id` (the outbox row's idempotency key, which the
    app's gateway sender always sends), so a message handed over twice is counted twice.
    """

    def __init__(self, secret: str, log_path: Path) -> None:
        self.secret = secret.encode()
        self.log_path = log_path
        self.accepted: Counter[str] = Counter()
        self.refused = 0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _handler(self):
        carrier = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                given = self.headers.get("X-Hotline-Signature", "")
                wanted = hmac.new(carrier.secret, raw, hashlib.sha256).hexdigest()
                try:
                    body = json.loads(raw)
                    message_id = str(body["message_id"])
                except (ValueError, KeyError, TypeError):
                    body, message_id = None, ""
                if not hmac.compare_digest(given, wanted) or not message_id:
                    with carrier.lock:
                        carrier.refused += 1
                    self.send_response(403)
                    self.end_headers()
                    return
                with carrier.lock:
                    carrier.accepted[message_id] += 1
                    copy = carrier.accepted[message_id]
                    with open(carrier.log_path, "a", encoding="utf-8") as handle:
                        handle.write(json.dumps({"message_id": message_id, "at": time.time()}))
                        handle.write("\n")
                answer = json.dumps({"id": f"carrier-{message_id}-{copy}"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        return Handler

    def start(self) -> None:
        """Serve in a thread."""
        self.thread.start()

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()

    def sent_twice(self) -> int:
        """How many extra copies of an SMS the carrier took (0 when each was taken once)."""
        with self.lock:
            return sum(n - 1 for n in self.accepted.values() if n > 1)

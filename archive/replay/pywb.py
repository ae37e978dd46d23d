"""Replay WARCs in a real pywb, kept in its own virtualenv.

pywb 2.10 pins old releases (redis 2.10, gevent, its own warcio range) that must never enter
the crawler's environment, so ``ensure_pywb_env`` builds a separate virtualenv on first use
under ``${NEWSARCHIVE_PYWB_HOME:-~/.cache/newsarchive/pywb}`` from the exact pins below (the
set verified with Python 3.11) and rebuilds it when the pins or the interpreter change.
``PywbServer`` builds a throw-away collection from WARC files (linked, not copied) and runs
``wayback`` on a free 127.0.0.1 port; it backs ``newsarchive replay`` and the replay tests.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

# pywb and everything it pulls in, frozen from an install verified here (Python 3.11);
# setuptools provides distutils, which pywb's wb-manager imports, on Python >= 3.12.
PYWB_PINS = """
pywb==2.10.0
brotlipy==0.7.0
certauth==1.3.0
certifi==2026.10.19.post1
cffi==2.1.1
charset-normalizer==3.5.2
cryptography==47.0.0
defusedxml==0.7.1
fakeredis==0.16.0
filelock==4.2.12
gevent==26.9.0
greenlet==3.5.6
idna==3.20
Jinja2==3.1.6
MarkupSafe==3.0.4
portalocker==4.4.2
Py3AMF==0.9.1
pycparser==3.12
pyOpenSSL==26.1.0
python-dateutil==4.0.0
PyYAML==6.0.4
redis==2.10.6
requests==2.34.2
requests-file==3.0.1
setuptools==84.2.1
six==1.17.0
surt==0.3.1
tldextract==5.4.0
typing_extensions==4.16.0
tzdata==2026.6
ua-parser==1.0.2
ua-parser-builtins==202610
urllib3==2.8.0
warcio==1.8.1
webassets==2.0
webencodings==0.6.1
Werkzeug==3.1.7
wsgiprox==1.5.2
zope.event==6.2
zope.interface==8.7
"""
DEFAULT_HOME = "~/.cache/newsarchive/pywb"
STAMP_NAME = ".newsarchive-stamp"
BUILD_TIMEOUT = 900
START_TIMEOUT = 60
COLLECTION = "newsarchive"


class PywbError(RuntimeError):
    """pywb could not be installed or started; the message says where the log is."""


def pywb_home() -> Path:
    return Path(os.environ.get("NEWSARCHIVE_PYWB_HOME") or DEFAULT_HOME).expanduser()


def _stamp(python: str) -> str:
    """Identifies the pinned set and the interpreter the virtualenv is built from."""
    info = subprocess.run([python, "-c", "import sys; print(sys.version, sys.base_prefix)"],
                          capture_output=True, text=True, check=True).stdout
    return hashlib.sha256(f"{PYWB_PINS}\n{info}".encode()).hexdigest()


def _clean_env() -> dict[str, str]:
    """The environment without anything that would mix the project's packages in."""
    return {k: v for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")}


def ensure_pywb_env(python: str | None = None) -> Path:
    """The python of pywb's own virtualenv, built (once, under a lock) if missing or stale.

    ``python`` is the interpreter to build from (default: the one running this code).
    """
    home = pywb_home()
    home.mkdir(parents=True, exist_ok=True)
    venv = home / "venv"
    venv_python = venv / "bin" / "python"
    base = python or sys.executable
    stamp = _stamp(base)
    with open(home / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel first runs build it once
        stamp_file = venv / STAMP_NAME
        if (stamp_file.is_file() and stamp_file.read_text().strip() == stamp
                and venv_python.exists()):
            return venv_python
        _build(base, home, venv)
        stamp_file.write_text(stamp)  # written last: an interrupted build is redone
    return venv_python


def _build(python: str, home: Path, venv: Path) -> None:
    shutil.rmtree(venv, ignore_errors=True)
    requirements = home / "requirements.txt"
    requirements.write_text(PYWB_PINS.lstrip())
    log_path = home / "install.log"
    with open(log_path, "w") as log:
        for command in ([python, "-m", "venv", str(venv)],
                        [str(venv / "bin" / "python"), "-m", "pip", "install",
                         "--disable-pip-version-check", "-q", "-r", str(requirements)]):
            try:
                done = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT,
                                      env=_clean_env(), timeout=BUILD_TIMEOUT)
            except subprocess.TimeoutExpired:
                done = None
            if done is None or done.returncode != 0:
                shutil.rmtree(venv, ignore_errors=True)
                raise PywbError(f"could not build pywb's virtualenv in {venv} "
                                f"(needs PyPI access; log: {log_path})")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def timestamp14(moment: datetime | str) -> str:
    """pywb's 14-digit timestamp for a datetime or a WARC-Date string."""
    if isinstance(moment, str):
        digits = "".join(c for c in moment if c.isdigit())
        return digits[:14].ljust(14, "0")
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"{moment:%Y%m%d%H%M%S}"


class PywbServer:
    """``wayback`` serving ``warc_paths`` as one collection on 127.0.0.1, as a context manager.

    Usage: ``with PywbServer([path]) as pywb: urlopen(pywb.url_for(ts14, url))``.  The
    collection lives in a temporary directory that ``stop()`` removes.
    """

    def __init__(self, warc_paths: Iterable[str | os.PathLike], port: int = 0,
                 collection: str = COLLECTION, framed: bool = True):
        self.warc_paths = [Path(p).resolve() for p in warc_paths]
        # framed: pywb's banner page holds the replay in an iframe; unframed replay puts
        # the archived page itself at the top (a browser test can read its DOM)
        self.framed = framed
        self.port = port
        self.collection = collection
        self.workdir: Path | None = None
        self._process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url_for(self, timestamp: datetime | str, url: str, mod: str = "id_") -> str:
        """The replay URL of ``url`` at ``timestamp`` (``id_``: the payload as archived)."""
        return f"{self.base_url}/{self.collection}/{timestamp14(timestamp)}{mod}/{url}"

    def __enter__(self) -> PywbServer:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        python = ensure_pywb_env()
        bindir = python.parent
        self.workdir = Path(tempfile.mkdtemp(prefix="newsarchive-pywb-"))
        try:
            self._run([bindir / "wb-manager", "init", self.collection])
            archive = self.workdir / "collections" / self.collection / "archive"
            for number, path in enumerate(self.warc_paths):
                if not path.is_file():
                    raise PywbError(f"no such WARC file: {path}")
                # numbered: two WARCs with one name (from different folders) stay apart
                (archive / f"{number:05d}-{path.name}").symlink_to(path)
            self._run([bindir / "wb-manager", "reindex", self.collection])
            if not self.framed:
                (self.workdir / "config.yaml").write_text("framed_replay: false\n")
            if not self.port:
                self.port = free_port()
            log = open(self.workdir / "wayback.log", "wb")  # the child keeps its own copy
            self._process = subprocess.Popen(
                [str(bindir / "wayback"), "-p", str(self.port), "-b", "127.0.0.1"],
                cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT, env=_clean_env())
            log.close()
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _run(self, command: list) -> None:
        done = subprocess.run([str(c) for c in command], cwd=self.workdir, capture_output=True,
                              text=True, env=_clean_env(), timeout=BUILD_TIMEOUT)
        if done.returncode != 0:
            raise PywbError(f"{Path(command[0]).name} {' '.join(map(str, command[1:]))} "
                            f"failed: {done.stderr.strip()[-2000:]}")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise PywbError(f"wayback exited with {self._process.returncode}: "
                                f"{self._log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/", timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # it answers: good enough
            except OSError:
                time.sleep(0.2)
        raise PywbError(f"wayback did not answer on port {self.port} within {START_TIMEOUT} s: "
                        f"{self._log_tail()}")

    def _log_tail(self) -> str:
        if self.workdir is None:
            return ""
        try:
            return (self.workdir / "wayback.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def wait(self) -> int:
        """Block until wayback exits (``newsarchive replay`` serves until Ctrl-C)."""
        if self._process is None:
            raise PywbError("pywb is not running")
        return self._process.wait()

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

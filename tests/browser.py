"""Headless Chromium driven over the DevTools protocol, for replay tests.

Debian's ``chromium`` (installed by .ci/run) is started with a throw-away profile; a
small synchronous CDP client (``websockets``) opens a page, records every network
response (URL and status), and evaluates expressions in the page.  Tests skip with the
reason when no chromium binary is found.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

START_TIMEOUT = 30


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageLoad:
    """What loading one URL did: every response (url, status) and every failed load."""

    responses: list[tuple[str, int]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


class Browser:
    """``with Browser() as browser: load = browser.open(url); browser.evaluate(js)``."""

    def __init__(self, binary: str | None = None) -> None:
        self.binary = binary or chromium_binary()
        if self.binary is None:
            raise RuntimeError("no chromium binary on PATH")
        self.profile = Path(tempfile.mkdtemp(prefix="newsarchive-chromium-"))
        self._process: subprocess.Popen | None = None
        self._ws = None
        self._ids = itertools.count(1)
        self._events: list[dict] = []

    def __enter__(self) -> Browser:
        self._process = subprocess.Popen(
            [self.binary, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
             "--remote-debugging-port=0", f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port = self._devtools_port()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as reply:
            targets = json.load(reply)
        page = next(t for t in targets if t.get("type") == "page")
        # entered by hand (closed in __exit__): the connection outlives this method
        self._ws = connect(page["webSocketDebuggerUrl"], max_size=None,
                           open_timeout=10).__enter__()
        self.call("Page.enable")
        self.call("Network.enable")
        self.call("Network.setCacheDisabled", cacheDisabled=True)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._ws is not None:
            self._ws.close()
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        shutil.rmtree(self.profile, ignore_errors=True)

    def _devtools_port(self) -> int:
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if marker.exists():
                text = marker.read_text().split()
                if text:
                    return int(text[0])
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"chromium exited with {self._process.returncode}")
            time.sleep(0.1)
        raise RuntimeError("chromium did not open its DevTools port")

    # ---- protocol ------------------------------------------------------------------------

    def call(self, method: str, timeout: float = 30, **params: Any) -> dict:
        assert self._ws is not None
        message_id = next(self._ids)
        self._ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(deadline)
            if message is None:
                raise TimeoutError(f"{method}: no answer within {timeout} s")
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def _receive(self, deadline: float) -> dict | None:
        assert self._ws is not None
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        try:
            message = json.loads(self._ws.recv(timeout=remaining))
        except TimeoutError:
            return None
        if "method" in message:
            self._events.append(message)
        return message

    def _pump(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while self._receive(deadline) is not None:
            pass

    # ---- pages ---------------------------------------------------------------------------

    def open(self, url: str, settle: float = 2.0, timeout: float = 60) -> PageLoad:
        """Navigate, wait for the load event and ``settle`` more seconds (fonts, scripts)."""
        self._events.clear()
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + timeout
        while not any(e["method"] == "Page.loadEventFired" for e in self._events):
            if self._receive(deadline) is None:
                raise TimeoutError(f"{url} did not finish loading within {timeout} s")
        self._pump(settle)
        load = PageLoad()
        requests: dict[str, str] = {}
        for event in self._events:
            params = event.get("params", {})
            if event["method"] == "Network.requestWillBeSent":
                requests[params["requestId"]] = params["request"]["url"]
            elif event["method"] == "Network.responseReceived":
                load.responses.append((params["response"]["url"], params["response"]["status"]))
            elif event["method"] == "Network.loadingFailed":
                load.failed.append((requests.get(params["requestId"], "?"),
                                    params.get("errorText", "")))
        return load

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

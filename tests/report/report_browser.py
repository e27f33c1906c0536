"""A headless Chromium driven over the DevTools protocol through a pipe (no websocket, no
extra package): open a page, collect console errors, evaluate JavaScript, screenshot.

``--remote-debugging-pipe`` makes Chromium read NUL-terminated JSON commands on fd 3 and
write replies and events on fd 4. Commands for the page go through a flat session
(``Target.attachToTarget(flatten=True)``).

Also a tool: ``python tests/report/report_browser.py PAGE.html SHOT.png`` screenshots a
report and prints its console errors and undecoded images.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars"]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageResult:
    console_errors: list[str] = field(default_factory=list)
    value: object = None  # what the evaluated expression returned
    screenshot: bytes = b""


class Browser:
    def __init__(self, binary: str, timeout_s: float = 60.0):
        self.timeout_s = timeout_s
        self._profile = tempfile.mkdtemp(prefix="echodsl-chromium-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        def remap():  # in the child: the pipes become fds 3 (commands in) and 4 (replies out)
            high_in = fcntl.fcntl(to_child_r, fcntl.F_DUPFD_CLOEXEC, 10)  # out of the way of 3 and 4 first
            high_out = fcntl.fcntl(from_child_w, fcntl.F_DUPFD_CLOEXEC, 10)
            os.dup2(high_in, 3)  # dup2 leaves the new fd inheritable: it survives exec
            os.dup2(high_out, 4)

        # close_fds=False: Python's own fds are close-on-exec anyway, and closing would drop 3 and 4
        self.proc = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={self._profile}", "--remote-debugging-pipe",
                                      "about:blank"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=remap, close_fds=False)
        os.close(to_child_r)
        os.close(from_child_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except Exception:  # noqa: BLE001 - it may be gone already
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_child, self._from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- protocol ----------------------------------------------------------------------

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str, session: str | None = None) -> dict:
        for i, e in enumerate(self.events):
            if e.get("method") == method and (session is None or e.get("sessionId") == session):
                return self.events.pop(i)
        while True:
            e = self._read()
            if e.get("method") == method and (session is None or e.get("sessionId") == session):
                return e
            self.events.append(e)

    def _read(self) -> dict:
        deadline = time.monotonic() + self.timeout_s
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(line)

    # --- one page ----------------------------------------------------------------------

    def open(self, url: str, expression: str, width: int = 1400) -> PageResult:
        """Load ``url``, await ``expression`` (a promise is awaited), screenshot the full page."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        s = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.send(f"{domain}.enable", session=s)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session=s)
        self.send("Page.navigate", {"url": url}, session=s)
        self.wait_event("Page.loadEventFired", s)
        value = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                               "returnByValue": True}, session=s)
        if "exceptionDetails" in value:
            raise RuntimeError(f"evaluation failed: {value['exceptionDetails']}")
        size = self.send("Page.getLayoutMetrics", session=s)["cssContentSize"]
        shot = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                    "clip": {"x": 0, "y": 0, "width": size["width"],
                                                             "height": size["height"], "scale": 1}}, session=s)
        errors = []
        for e in self.events:
            if e.get("sessionId") != s:
                continue
            p = e.get("params", {})
            if e["method"] == "Runtime.exceptionThrown":
                errors.append(json.dumps(p.get("exceptionDetails", {}))[:500])
            elif e["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                errors.append(json.dumps(p.get("args", []))[:500])
            elif e["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                errors.append(f"{p['entry'].get('source')}: {p['entry'].get('text')} {p['entry'].get('url', '')}")
        return PageResult(errors, value["result"].get("value"), base64.b64decode(shot["data"]))


def open_page(path: Path, expression: str) -> PageResult:
    binary = chromium_path()
    assert binary, "no chromium on PATH"
    with Browser(binary) as browser:
        return browser.open(path.resolve().as_uri(), expression)


if __name__ == "__main__":  # python tests/report/report_browser.py PAGE.html SHOT.png
    import sys

    shown = open_page(Path(sys.argv[1]), "[...document.images].filter(i => !i.naturalWidth).length")
    Path(sys.argv[2]).write_bytes(shown.screenshot)
    print(f"console errors: {len(shown.console_errors)}, undecoded images: {shown.value}, screenshot: {sys.argv[2]}")
    for error in shown.console_errors:
        print(" ", error)

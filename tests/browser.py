"""A headless Chromium driven through the DevTools protocol over a pipe
(``--remote-debugging-pipe``: JSON messages separated by NUL bytes on fds 3 and 4),
so tests need no websocket library. Also a pure-Python PNG decoder for pixel checks.

``load(path)`` opens a file, lets its scripts run, and returns what happened:
console errors, uncaught exceptions, log errors (CSP violations included), every
network request, and a screenshot of one element."""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import struct
import subprocess
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@dataclass
class PageRun:
    errors: list[str] = field(default_factory=list)       # console errors, exceptions, log errors
    requests: list[str] = field(default_factory=list)     # every URL the page asked for
    screenshot: bytes = b""
    values: dict = field(default_factory=dict)            # results of the probe expressions


class _Pipe:
    def __init__(self, binary: str, profile: str):
        to_r, self.to_w = os.pipe()      # we write, chromium reads on fd 3
        self.from_r, from_w = os.pipe()  # chromium writes on fd 4, we read

        def fds():
            os.dup2(to_r, 3)
            os.dup2(from_w, 4)

        self.proc = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "about:blank"],
            pass_fds=(3, 4), preexec_fn=fds, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_r)
        os.close(from_w)
        self.buf = b""
        self.next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 30) -> dict:
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_w, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self.receive(timeout)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def receive(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.from_r], [], [], left)[0]:
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self.from_r, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\0", 1)
        msg = json.loads(raw)
        if "method" in msg:
            self.events.append(msg)
        return msg

    def wait_event(self, method: str, timeout: float = 30) -> dict:
        for e in self.events:
            if e["method"] == method:
                return e
        deadline = time.monotonic() + timeout
        while True:
            msg = self.receive(max(0.01, deadline - time.monotonic()))
            if msg.get("method") == method:
                return msg

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.receive(deadline - time.monotonic())
            except TimeoutError:
                return

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.to_w)
        os.close(self.from_r)


def load(path: Path, element: str = "body", probes: dict[str, str] | None = None,
         size: tuple[int, int] = (1400, 1000), scale: float = 0.5) -> PageRun:
    """Open ``path``, run ``probes`` (name -> JS expression) after load, capture ``element``
    at ``scale`` (half size by default: the pixel check decodes in pure Python)."""
    with tempfile.TemporaryDirectory() as profile:
        pipe = _Pipe(chromium(), profile)
        try:
            target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Runtime", "Log", "Network", "Page"):
                pipe.send(f"{domain}.enable", session=session)
            pipe.send("Emulation.setDeviceMetricsOverride", {"width": size[0], "height": size[1],
                                                              "deviceScaleFactor": 1, "mobile": False},
                      session=session)
            pipe.events.clear()
            pipe.send("Page.navigate", {"url": path.resolve().as_uri()}, session=session)
            pipe.wait_event("Page.loadEventFired")
            pipe.drain(0.5)
            run = PageRun()
            for name, expr in (probes or {}).items():
                res = pipe.send("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session=session)
                if "exceptionDetails" in res:
                    run.errors.append(f"probe {name}: {res['exceptionDetails'].get('text')}")
                run.values[name] = res.get("result", {}).get("value")
            box = pipe.send("Runtime.evaluate", {"expression": f"""(() => {{ const r = document.querySelector(
                {json.dumps(element)}).getBoundingClientRect(); return [r.left + scrollX, r.top + scrollY,
                r.width, r.height]; }})()""", "returnByValue": True}, session=session)["result"]["value"]
            shot = pipe.send("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": box[0], "y": box[1], "width": box[2], "height": box[3], "scale": scale}},
                session=session)
            run.screenshot = base64.b64decode(shot["data"])
            pipe.drain(0.2)
        finally:
            pipe.close()
    for e in pipe.events:
        m, p = e["method"], e.get("params", {})
        if m == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            run.errors.append("exception: " + d.get("exception", {}).get("description", d.get("text", "")))
        elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert", "warning"):
            run.errors.append(f"console.{p['type']}: " + " ".join(str(a.get("value", a.get("description")))
                                                                 for a in p.get("args", [])))
        elif m == "Log.entryAdded" and p["entry"]["level"] in ("error", "warning"):
            run.errors.append(f"log {p['entry']['source']}: {p['entry']['text']}")
        elif m == "Network.requestWillBeSent":
            run.requests.append(p["request"]["url"])
    return run


def png_pixels(data: bytes) -> tuple[int, int, list[tuple[int, ...]]]:
    """Decode an 8-bit, non-interlaced RGB or RGBA PNG: (width, height, rows of pixel tuples)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x:x + bpp]) for x in range(0, stride, bpp)])
        prev = line
    return width, height, rows


def ink(data: bytes) -> float:
    """The share of pixels that are not (nearly) white."""
    w, h, rows = png_pixels(data)
    dark = sum(1 for row in rows for px in row if min(px[:3]) < 235)
    return dark / (w * h)

"""What a person sees in a real browser: headless Chromium opens the front page and a feed
(shown through its XSLT stylesheet), served from a local web server.

The build uses records whose pages and images live on that same server, so the browser
never needs the network.  Screenshots are kept under ``test-artifacts/``.  Without Chromium
these tests are skipped, except in CI (``CI=true``), where a missing browser is a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import struct
import subprocess
import tempfile
import threading
import time
import urllib.request
import zlib
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import websocket
from lxml import html

from feeds.api import build
from feeds.config import Config
from tests.conftest import REPO, record_data, record_text

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = REPO / "test-artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]

if CHROMIUM is None:
    if os.environ.get("CI") == "true":
        pytest.fail("CI must have Chromium (.ci/run installs Debian's chromium)", pytrace=False)
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-colour PNG, so that the test needs no image library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Build a few records into a folder served on 127.0.0.1; yield the site's base URL."""
    root = tmp_path_factory.mktemp("site")
    out = root / "out"
    out.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(out)))
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    records = root / "records"
    records.mkdir()
    for n, (title, topic) in enumerate(
        [("Rivers rise & fall", "Climate"), ("<b>Bold</b> moves in AI", "AI")], start=1
    ):
        data = record_data(
            title=title,
            excerpt=f"Story {n}: what happened, and why it matters.",
            webUrl=f"{base}articles/{n}.html",
            publishedDateTime=f"2021-03-0{n}T10:00:00+02:00",
            topics=[topic],
            images=[{"url": f"{base}img/{n}.png", "width": 160, "height": 90}],
            related=[
                {
                    "title": f"Background to story {n}",
                    "publishedDateTime": "2021-02-01T08:00:00Z",
                    "webUrl": f"{base}articles/background-{n}.html",
                    "provider": {"name": "Other Paper", "domain": "127.0.0.1"},
                }
            ],
        )
        (records / f"{n}.md").write_text(record_text(data), "utf-8")
    build(Config(title="Local news", base_url=base, source=records, output=out))
    (out / "img").mkdir()
    for n in (1, 2):
        (out / "img" / f"{n}.png").write_bytes(png(160, 90, (40 * n, 120, 200)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()


def chromium(*args: str, timeout: float = 60) -> str:
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def dom(url: str) -> Any:
    """The page as the browser built it (for a feed: the result of the XSLT)."""
    return html.fromstring(chromium("--dump-dom", url))


def screenshot(url: str, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    path.unlink(missing_ok=True)
    chromium("--window-size=1000,1400", f"--screenshot={path}", url)
    assert path.is_file() and path.read_bytes().startswith(b"\x89PNG")
    return path


class DevTools:
    """A page driven over the Chrome DevTools protocol: console errors and page state."""

    def __init__(self, profile: str) -> None:
        self.process = subprocess.Popen(
            [
                str(CHROMIUM),
                *FLAGS,
                f"--user-data-dir={profile}",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, stopped whole in close()
        )
        port_file = Path(profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.is_file() or not port_file.read_text().strip():
            assert time.monotonic() < deadline, "Chromium did not open its debugging port"
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            targets = json.load(r)
        page = next(t for t in targets if t["type"] == "page")
        self.socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30)
        self.next_id = 0
        self.errors: list[str] = []
        self.events: list[str] = []
        for method in ("Runtime.enable", "Log.enable", "Page.enable"):
            self.call(method)

    def call(self, method: str, **params: Any) -> Any:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                return message.get("result")
            self.record(message)

    def record(self, message: dict[str, Any]) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method:
            self.events.append(method)
        if method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            self.errors.append(" ".join(str(a.get("value")) for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            self.errors.append(str(params["exceptionDetails"].get("text")))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            entry = params["entry"]
            self.errors.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}")

    def open(self, url: str) -> None:
        self.events.clear()
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + 30
        while "Page.loadEventFired" not in self.events:
            assert time.monotonic() < deadline, f"{url} did not load"
            self.record(json.loads(self.socket.recv()))
        # Let late console messages arrive.
        self.call(
            "Runtime.evaluate", expression="new Promise(r => setTimeout(r, 300))", awaitPromise=True
        )

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def close(self) -> None:
        """Stop Chromium and every helper process it started: they write into the profile
        folder until they exit, which would race its removal."""
        self.socket.close()
        group = os.getpgid(self.process.pid)
        self.process.terminate()
        self.process.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)


@pytest.fixture(scope="module")
def devtools() -> Iterator[DevTools]:
    with tempfile.TemporaryDirectory() as profile:
        tools = DevTools(profile)
        try:
            yield tools
        finally:
            tools.close()


def test_front_page_shows_every_feed_with_subscribe_links(site: str) -> None:
    page = dom(site)
    assert page.get("lang") == "en"
    assert page.findtext(".//h1") == "Local news"
    rows = {row.findtext("th"): row for row in page.iter("tr") if row.find("td") is not None}
    assert sorted(rows) == sorted(["All articles", "AI", "Climate", "Example News", "Other Paper"])
    assert rows["AI"].findall("td")[0].text_content() == "2"
    assert rows["AI"].findtext(".//code") == f"{site}topics/ai.atom.xml"
    assert [a.text for a in rows["AI"].iter("a")] == ["Atom", "RSS", "JSON Feed"]
    assert "subscription list (OPML)" in page.text_content()
    screenshot(site, "index.png")


def test_a_feed_shows_as_a_readable_page(site: str) -> None:
    url = f"{site}topics/ai.atom.xml"
    page = dom(url)
    assert page.findtext(".//h1") == "AI – Local news"  # noqa: RUF001
    articles = page.findall(".//article")
    titles = [a.findtext("h3/a") for a in articles]
    # Markup in a title is shown as the text it is, not applied.
    assert titles == ["<b>Bold</b> moves in AI", "Background to story 2"]
    image = articles[0].find("img")
    assert image is not None and image.get("src") == f"{site}img/2.png"
    related = [a.text_content() for a in page.findall(".//article/ul/li/a")]
    assert "Background to story 2" in related
    assert url in page.findtext(".//code")
    screenshot(url, "feed-atom.png")


@pytest.mark.parametrize("path", ["", "all.atom.xml", "all.rss.xml", "topics/ai.rss.xml"])
def test_pages_load_their_images_without_console_errors(
    site: str, devtools: DevTools, path: str
) -> None:
    devtools.errors.clear()
    devtools.open(f"{site}{path}")
    assert devtools.errors == []
    assert devtools.evaluate("document.querySelector('h1').textContent")
    if path:
        loaded = devtools.evaluate(
            "Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)"
        )
        assert loaded and all(loaded)

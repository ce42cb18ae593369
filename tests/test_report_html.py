"""The Snakemake HTML report (``snakemake --report report.html``): every figure is in it, captioned,
loads and renders in a real browser, and the reproduction report is included.

Snakemake 9 writes one self-contained HTML file: a React app plus a ``<script id="results">`` payload
(``var results = {path: {caption, mime_type, data_uri, ...}}``) and ``var categories``. Two levels:

1. Payload: every ``figures/*.pdf`` the run made is an entry with a non-empty caption, its data URI
   decodes to exactly the bytes on disk, and Table S1 and the reproduction report are included the
   same way.
2. Browser: headless Chromium (Debian's ``chromium``) is driven over the DevTools protocol on a pipe
   (``--remote-debugging-pipe``; the standard library is enough, no websocket or Playwright package).
   For each figure the test clicks its category, then the figure's "view" button, and requires that
   (a) the app opened the figure in a frame whose document Chromium loaded as application/pdf,
   (b) Chromium's PDF viewer in that frame reports the document loaded (load state 'success', at
       least one page; a corrupt PDF gives 'failed' and the viewer's "Failed to load PDF document"),
   (c) a screenshot of that frame shows a rendered page with ink on it (the viewer drew it), and
   (d) the "info" button shows the caption; and that the app raised no JavaScript exception.
3. Front page: the report opens on the reproduction verdict (the workflow-level ``report:`` page that
   rule write_verdict_page writes): the landing view shows it, and every link on it opens what it
   names - each figure's category (listing that figure's composite) or a result file's info view.

If ``chromium`` is missing, the fixture installs it with apt-get when running as root (as CI does);
otherwise the browser test is skipped with the reason. A failed install as root is a failure.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import re
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import copy_run, run_snakemake

pytestmark = pytest.mark.pipeline

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1000,700"]


# ---------------------------------------------------------------- report run and payload
@pytest.fixture(scope="module")
def report(small_run, tmp_path_factory):
    raw, run = small_run
    workdir = copy_run(run, tmp_path_factory.mktemp("report") / "work")  # the report is written into it
    html_path = workdir / "report.html"
    result = run_snakemake(workdir, raw, "--report", str(html_path))
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir, html_path


def _script_json(text: str, script_id: str, variable: str):
    match = re.search(rf'<script id="{script_id}">\s*var {variable} = ', text)
    assert match, f"no {variable} payload in the report"
    value, _ = json.JSONDecoder().raw_decode(text, match.end())
    return value


def _decoded(data_uri: str) -> bytes:
    header, _, payload = data_uri.partition(",")
    assert header.endswith(";base64"), header[:80]
    return base64.b64decode(payload)


def _caption_text(caption_html: str | None) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", caption_html or "")).split())


def _figure_entries(workdir: Path, results: dict) -> dict[str, dict]:
    figures = sorted(p.relative_to(workdir).as_posix() for p in (workdir / "figures").glob("*.pdf"))
    assert figures, "the run made no figures"
    missing = [f for f in figures if f not in results]
    assert not missing, f"figures not in the report: {missing}"
    return {f: results[f] for f in figures}


def test_report_payload_has_every_figure_captioned_and_intact(report):
    workdir, html_path = report
    text = html_path.read_text(encoding="utf-8")
    results = _script_json(text, "results", "results")
    categories = _script_json(text, "categories", "categories")
    for path, entry in _figure_entries(workdir, results).items():
        assert len(_caption_text(entry["caption"])) >= 20, f"{path}: no caption"
        assert entry["mime_type"] == "application/pdf", path
        assert _decoded(entry["data_uri"]) == (workdir / path).read_bytes(), f"{path}: embedded bytes differ"
    included = [("results/reproduction_report.csv", "Reproduction report"), ("results/TableS1.csv", "Table S1")]
    if (workdir / "results/provenance.json").exists():  # once rule write_provenance is in rule all
        included.append(("results/provenance.json", "Provenance"))
    included.append(("results/reproduction_dossier.pdf", "Reproduction report"))
    for table, category in included:
        assert table in results, f"{table} not in the report"
        assert _caption_text(results[table]["caption"]), f"{table}: no caption"
        assert _decoded(results[table]["data_uri"]) == (workdir / table).read_bytes()
        assert any(table in paths for paths in categories[category].values())


# ---------------------------------------------------------------- Chromium over the DevTools pipe
def _install_chromium() -> str | None:
    found = shutil.which("chromium")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("chromium is not installed and this is not root with apt-get: cannot install it")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return shutil.which("chromium")


class DevTools:
    """Minimal Chrome DevTools Protocol client over ``--remote-debugging-pipe`` (fd 3 in, fd 4 out;
    messages are JSON terminated by NUL)."""

    def __init__(self, binary: str, user_data_dir: Path):
        to_child_r, self._w = os.pipe()
        self._r, from_child_w = os.pipe()

        def wire_fds():
            # Through high numbers first so neither dup2 overwrites the other's source.
            high_in, high_out = os.dup(to_child_r) + 200, os.dup(from_child_w) + 200
            os.dup2(to_child_r, high_in)
            os.dup2(from_child_w, high_out)
            os.dup2(high_in, 3)
            os.dup2(high_out, 4)

        self.process = subprocess.Popen(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}", "--remote-debugging-pipe",
             "about:blank"],
            pass_fds=(3, 4), preexec_fn=wire_fds, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        os.close(to_child_r)
        os.close(from_child_w)
        self._buffer = b""
        self._id = 0
        self.events: list[dict] = []
        self.session = None

    def call(self, method: str, params: dict | None = None, timeout: float = 60, session: str | None = None) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        session = session or self.session
        if session and not method.startswith(("Target.", "Browser.")):
            message["sessionId"] = session
        os.write(self._w, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._next(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def _next(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("chromium did not answer in time")
            if select.select([self._r], [], [], left)[0]:
                chunk = os.read(self._r, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe (crashed?)")
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def wait_event(self, method: str, timeout: float = 60) -> dict:
        for index, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(index)
        deadline = time.monotonic() + timeout
        while True:
            event = self._next(deadline)
            if event.get("method") == method:
                return event
            self.events.append(event)

    def open_page(self) -> None:
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.call("Page.enable")
        self.call("Runtime.enable")

    def navigate(self, url: str) -> None:
        self.events = [e for e in self.events if e.get("method") != "Page.loadEventFired"]
        self.call("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expression: str, session: str | None = None):
        reply = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                               "awaitPromise": True}, session=session)
        if "exceptionDetails" in reply:
            raise RuntimeError(f"{expression[:80]}...: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def poll(self, expression: str, timeout: float = 15, session: str | None = None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression, session)
            if value:
                return value
            time.sleep(0.1)
        return self.evaluate(expression, session)

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=10)
            self.process.wait(timeout=15)
        except Exception:
            if self.process.poll() is None:
                os.killpg(self.process.pid, 9)
                self.process.wait()
        os.close(self._w)
        os.close(self._r)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    binary = _install_chromium()
    devtools = DevTools(binary, tmp_path_factory.mktemp("chromium-profile"))
    try:
        devtools.open_page()
        yield devtools
    finally:
        devtools.close()


def _click_js(selector_js: str) -> str:
    return f"(() => {{ const el = {selector_js}; if (!el) return false; el.click(); return true; }})()"


def _menu_item(text: str) -> str:
    return _click_js("Array.from(document.querySelectorAll('a')).find(a => a.innerText.trim() === "
                     f"{json.dumps(text)})")


def _row_button(path: str, icon: str) -> str:
    return _click_js("(Array.from(document.querySelectorAll('td')).find(td => td.innerText.trim() === "
                     f"{json.dumps(path)}) || {{parentElement: document}}).parentElement"
                     f".querySelector('a[iconname=\"{icon}\"]')")


def _pdf_frame(frame_tree: dict) -> dict | None:
    for child in frame_tree.get("childFrames", []):
        if child["frame"].get("mimeType") == "application/pdf":
            return child["frame"]
    return None


# Chromium's PDF viewer (the extension page inside the frame) keeps its load state on
# ``window.viewer``: loadState_ is 'success' or 'failed', docLength_ the page count. These are the
# viewer's internals (Chromium 156 here); if a later Chromium renames them, the state reads
# 'unknown' and the test falls back to the viewer's error text and the screenshot check.
PDF_VIEWER_STATE = """(() => {
  const v = window.viewer;
  const text = [];
  const walk = n => { if (n.shadowRoot) walk(n.shadowRoot);
    for (const c of n.childNodes) { if (c.nodeType === 3) text.push(c.textContent); else walk(c); } };
  walk(document);
  const failed = text.join(' ').includes('Failed to load PDF document');
  if (!v || v.loadState_ === undefined) return {state: failed ? 'failed' : 'unknown', pages: null};
  return {state: v.loadState_ || 'loading', pages: v.docLength_ ?? null};
})()"""


def _pdf_viewer_state(browser: DevTools, timeout: float = 20) -> dict:
    """Attach to the PDF viewer's frame and wait until it has loaded or failed."""
    deadline = time.monotonic() + timeout
    state = {"state": "no viewer", "pages": None}
    while time.monotonic() < deadline:
        viewers = [t for t in browser.call("Target.getTargets")["targetInfos"]
                   if t["type"] == "iframe" and t["url"].startswith("chrome-extension://")]
        if viewers:
            session = browser.call("Target.attachToTarget", {"targetId": viewers[-1]["targetId"],
                                                             "flatten": True})["sessionId"]
            try:
                while time.monotonic() < deadline:
                    state = browser.evaluate(PDF_VIEWER_STATE, session)
                    if state["state"] not in ("loading", "unknown"):
                        break
                    time.sleep(0.2)
            finally:
                browser.call("Target.detachFromTarget", {"sessionId": session})
            return state
        time.sleep(0.2)
    return state


def _rendered_page(png: bytes, box: dict) -> tuple[float, float]:
    """(fraction of the frame that is white page, fraction of that page area with dark ink)."""
    import numpy as np
    from matplotlib import pyplot

    image = pyplot.imread(io.BytesIO(png))[..., :3]
    x0, y0 = int(box["x"]), int(box["y"])
    frame = image[y0:y0 + int(box["height"]), x0:x0 + int(box["width"])]
    white = np.all(frame > 0.95, axis=-1)
    if white.sum() == 0:
        return 0.0, 0.0
    rows, cols = np.flatnonzero(white.any(axis=1)), np.flatnonzero(white.any(axis=0))
    page = frame[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    ink = page.mean(axis=-1) < 0.5
    return float(white.mean()), float(ink.mean())


def test_every_figure_loads_and_renders_in_chromium(report, browser):
    workdir, html_path = report
    text = html_path.read_text(encoding="utf-8")
    results = _script_json(text, "results", "results")
    categories = _script_json(text, "categories", "categories")
    category_of = {path: name for name, subs in categories.items() for paths in subs.values() for path in paths}
    problems = []
    for path, entry in _figure_entries(workdir, results).items():
        browser.navigate(html_path.as_uri())
        assert browser.poll(_menu_item(category_of[path])), f"{path}: no menu entry {category_of[path]!r}"
        assert browser.poll(_row_button(path, "eye")), f"{path}: no view button in its category"
        frame = None
        deadline = time.monotonic() + 20
        while frame is None and time.monotonic() < deadline:
            frame = _pdf_frame(browser.call("Page.getFrameTree")["frameTree"])
            time.sleep(0.2)
        if frame is None or not entry["data_uri"].startswith(frame["url"].split(",", 1)[0]):
            problems.append(f"{path}: no frame loaded as application/pdf")
            continue
        viewer = _pdf_viewer_state(browser)
        if viewer["state"] not in ("success", "unknown") or viewer["pages"] == 0:
            problems.append(f"{path}: Chromium's PDF viewer did not load it ({viewer})")
            continue
        box = browser.evaluate("(() => { const r = document.querySelector('iframe').getBoundingClientRect();"
                               " return {x: r.x, y: r.y, width: r.width, height: r.height}; })()")
        white, ink = 0.0, 0.0
        deadline = time.monotonic() + 20
        while (white < 0.05 or ink < 0.002) and time.monotonic() < deadline:
            time.sleep(0.3)
            shot = browser.call("Page.captureScreenshot", {"format": "png"})
            white, ink = _rendered_page(base64.b64decode(shot["data"]), box)
        if white < 0.05 or ink < 0.002:
            problems.append(f"{path}: PDF not rendered (page {white:.3f}, ink {ink:.4f} of the frame)")
        assert browser.poll(_row_button(path, "information-circle")), f"{path}: no info button"
        caption = _caption_text(entry["caption"])
        # Whitespace-blind: the rst's inline markup (ZnX<sub>2</sub>) renders without the spaces.
        needle = json.dumps("".join(caption.split())[:60])
        shown = browser.poll(f"document.body.innerText.replace(/\\s+/g, '').includes({needle})")
        if not shown:
            problems.append(f"{path}: caption not shown by the info view")
    errors = [e["params"]["exceptionDetails"].get("text", "") for e in browser.events
              if e.get("method") == "Runtime.exceptionThrown"]
    assert not errors, f"JavaScript exceptions in the report: {errors}"
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- the front page: the verdict
def _description_links(text: str) -> list[tuple[str, str, str]]:
    """(kind, argument, link text) of every javascript: link in the workflow description."""
    match = re.search(r'<script id="workflow-desc">\s*var workflow_desc = ', text)
    assert match, "no workflow description in the report"
    description, _ = json.JSONDecoder().raw_decode(text, match.end())
    assert "Verdict:" in description, "the report's front page does not carry the verdict"
    from urllib.parse import unquote

    return [(kind, unquote(argument), html.unescape(label)) for kind, argument, label in re.findall(
        r'<a class="reference external" href="javascript:app\.(showCategory|showResultInfo)\(\'([^\']*)\'\)">'
        r'([^<]+)</a>', description)]


def test_report_opens_on_the_verdict_and_its_links_resolve(report, browser):
    workdir, html_path = report
    text = html_path.read_text(encoding="utf-8")
    results = _script_json(text, "results", "results")
    categories = _script_json(text, "categories", "categories")
    links = _description_links(text)
    linked_categories = {argument for kind, argument, _ in links if kind == "showCategory"}
    # every composite's category is linked from the verdict table, and every link names something real
    composites = sorted(p.relative_to(workdir).as_posix() for p in (workdir / "figures").glob("Figure*.pdf"))
    assert composites, "the run made no composite figures"
    category_of = {path: name for name, subs in categories.items() for paths in subs.values() for path in paths}
    assert {category_of[c] for c in composites} <= linked_categories
    assert linked_categories <= set(categories), sorted(linked_categories - set(categories))
    linked_files = {argument for kind, argument, _ in links if kind == "showResultInfo"}
    assert "results/reproduction_dossier.pdf" in linked_files and linked_files <= set(results)

    browser.navigate(html_path.as_uri())
    assert browser.poll("document.body.innerText.includes('Verdict:')"), "landing view does not show the verdict"
    problems = []
    for kind, argument, label in links:
        browser.navigate(html_path.as_uri())
        clicked = browser.poll(_click_js("Array.from(document.querySelectorAll('a.reference.external'))"
                                         f".find(a => a.innerText.trim() === {json.dumps(label)})"))
        if not clicked:
            problems.append(f"link {label!r} not on the landing view")
            continue
        if kind == "showCategory":
            wanted = [p for p, c in category_of.items() if c == argument]
            shown = browser.poll("(() => { const cells = Array.from(document.querySelectorAll('td'))"
                                 ".map(td => td.innerText.trim()); return " + json.dumps(wanted)
                                 + ".every(p => cells.includes(p)); })()")
            if not shown:
                problems.append(f"link {label!r}: category {argument!r} not shown with its {len(wanted)} results")
        else:
            caption = "".join(_caption_text(results[argument]["caption"]).split())[:60]
            if not browser.poll(f"document.body.innerText.replace(/\\s+/g, '').includes({json.dumps(caption)})"):
                problems.append(f"link {label!r}: result info of {argument} not shown")
    errors = [e["params"]["exceptionDetails"].get("text", "") for e in browser.events
              if e.get("method") == "Runtime.exceptionThrown"]
    assert not errors, f"JavaScript exceptions in the report: {errors}"
    assert not problems, "\n".join(problems)

"""Every widget of every lesson works in a real JupyterLab, driven in headless Chromium.

Each lesson that shows a widget is opened in JupyterLab on localhost (throw-away token,
settings and config folders), run with "Run All Cells", and each of its widgets is driven
the way a learner would (a slider moved with the keyboard, a dropdown changed, a button
clicked); the test asserts on what the page then shows. Screenshots go to
``test-artifacts/browser/``.

The browser is Debian's chromium (/usr/bin/chromium), never a downloaded build:
``python3 course.py test`` installs it with apt-get when ``CI`` is set and it runs as root.
With ``CI`` set a missing browser fails these tests; elsewhere they are skipped, saying how
to enable them. A chapter that adds a widget adds its check here in the same change.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "browser"
ENABLE = ("install Debian's chromium (`sudo apt-get install chromium`); the Python playwright package "
          "comes with the course's dev install (never run `playwright install`)")
if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"CI must drive the widgets in a browser, but {CHROMIUM} is missing: {ENABLE}")
    pytest.skip(f"no browser at {CHROMIUM}: to run the browser tests, {ENABLE}", allow_module_level=True)
playwright_sync = pytest.importorskip("playwright.sync_api")

LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
LESSON_SECONDS = 360   # a whole lesson runs in the page (each takes about a minute on 2 cores)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on localhost serving copies of the lessons; yields a function
    that gives the URL of one lesson."""
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "root"
    root.mkdir()
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)     # without outputs or saved widget views: the
        nb.metadata.pop("widgets", None)            # page then shows only what this run produces
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nbformat.write(nb, root / path.name)
    settings = tmp / "settings"
    settings.mkdir()
    (settings / "overrides.json").write_text(json.dumps(
        {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}))
    # A learner's JupyterLab: nbgrader's extensions (the instructor extra, installed under CI) add
    # menus and dialogs a learner never sees.
    (tmp / "cfg" / "labconfig").mkdir(parents=True)
    (tmp / "cfg" / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyter/nbgrader": True}}))
    port, token = _free_port(), "gencourse-test"
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp / "cfg"), JUPYTER_DATA_DIR=str(tmp / "data"))
    # The course's kernel (installed into this environment) must stay visible with a private data dir.
    env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(Path(sys.prefix) / "share" / "jupyter"),
                                                         env.get("JUPYTER_PATH", "")]))
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
         "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         f"--LabServerApp.app_settings_dir={settings}",
         "--ServerApp.jpserver_extensions={'nbgrader': False}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start within 60 s")
        yield lambda name: f"{base}/lab/tree/{name}?reset&token={token}"
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    with playwright_sync.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


def _close_dialogs(page) -> None:
    """Accept any JupyterLab dialog on top of the notebook (its default button, "Select" for the
    kernel). On a busy machine the first click can land before the dialog is ready and leave it
    open, so each try is short and repeated; Escape is the fallback. A dialog that stays open
    fails the test with its text and a screenshot."""
    dialog = page.locator(".jp-Dialog")
    for attempt in range(6):
        if not (dialog.count() and dialog.first.is_visible()):
            return
        try:
            if attempt < 4:
                dialog.first.locator(".jp-mod-accept").first.click(timeout=5_000)
            else:
                page.keyboard.press("Escape")
            dialog.first.wait_for(state="detached", timeout=10_000)
        except playwright_sync.TimeoutError:
            continue
    if dialog.count() and dialog.first.is_visible():
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dialog-left-open.png"))
        pytest.fail(f"a JupyterLab dialog would not close: {dialog.first.inner_text()[:200]!r}")


def _open_and_run(browser, url: str):
    """Open a lesson, run all its cells and wait for its checks to pass; return the page."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status=idle]", timeout=120_000)
    for attempt in range(3):
        # On a busy machine JupyterLab may open its "Select Kernel" dialog late, on top of the
        # notebook, and swallow the first Run All: accept it (the lesson's kernel is preselected).
        _close_dialogs(page)
        page.get_by_role("menuitem", name="Run").click()
        page.get_by_text("Run All Cells", exact=True).click()
        try:
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status=busy]", timeout=30_000)
            break
        except playwright_sync.TimeoutError:
            if attempt == 2:
                raise
    # The copies hold no outputs, so this text appears only when the lesson's checks pass; an
    # error in any cell stops "Run All" before them.
    page.locator(".jp-OutputArea-output", has_text="all checks passed").first.wait_for(
        timeout=LESSON_SECONDS * 1000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return page


def _output_with(page, text: str):
    """The output area of the widget whose controls show ``text`` (a description or a button)."""
    area = page.locator(".jp-OutputArea-output").filter(has=page.get_by_text(text, exact=True))
    assert area.count() >= 1, f"no widget showing {text!r}"
    area = area.first
    area.scroll_into_view_if_needed()
    return area


def _changes(page, locator, read, act, what: str) -> None:
    """Do ``act`` and wait until ``read(locator)`` differs from before."""
    before = read(locator)
    act()
    deadline = time.monotonic() + 30
    while read(locator) == before:
        assert time.monotonic() < deadline, f"{what} did not change within 30 s"
        page.wait_for_timeout(200)


def _src(img) -> str:
    return img.get_attribute("src") or ""


def _text(el) -> str:
    return el.inner_text()


def _press(handle, key: str, times: int):
    def act():
        handle.focus()
        for _ in range(times):
            handle.press(key)
    return act


def _drive_latent_explorer(page, shot: str) -> None:
    explorer = _output_with(page, "z1")
    label = explorer.locator(".widget-label").filter(has_text="z = (")
    image = explorer.locator("img").first
    _changes(page, label, _text, _press(explorer.locator(".noUi-handle").first, "ArrowRight", 20),
             "the latent explorer's readout")
    _changes(page, image, _src, _press(explorer.locator(".noUi-handle").nth(1), "ArrowLeft", 20),
             "the latent explorer's image")
    explorer.screenshot(path=str(ARTIFACTS / f"{shot}-latent-explorer.png"))


def _drive_interpolation(page, shot: str) -> None:
    widget = _output_with(page, "α")
    view = widget.locator("img").last          # the two end points come first, the blend last
    ends = [_src(widget.locator("img").nth(i)) for i in range(2)]
    readout = widget.locator(".widget-readout").first
    _changes(page, view, _src, _press(widget.locator(".noUi-handle").first, "ArrowRight", 10),
             "the interpolation's image")
    assert float(readout.inner_text()) > 0.2, "the α slider did not move"
    assert [_src(widget.locator("img").nth(i)) for i in range(2)] == ends, "the end points must not move"
    widget.screenshot(path=str(ARTIFACTS / f"{shot}-interpolation.png"))


def _drive_attention_viewer(page, shot: str) -> None:
    viewer = _output_with(page, "input")
    image = viewer.locator("img").first
    _changes(page, image, _src, _press(viewer.locator(".noUi-handle").first, "ArrowRight", 3),
             "the attention map after choosing another input")
    assert "strongest key of each query" in viewer.inner_text(), "layer 1's readout is missing"
    _changes(page, image, _src, lambda: viewer.locator("select").first.select_option(label="layer 2"),
             "the attention map after choosing layer 2")
    # In layer 2 only the last position asks, and the readout names the key it reads.
    page.wait_for_function("el => el.innerText.includes('the query looks most at key')",
                           arg=viewer.element_handle(), timeout=30_000)
    viewer.screenshot(path=str(ARTIFACTS / f"{shot}-attention-viewer.png"))


def _drive_sampling_playground(page, shot: str) -> None:
    playground = _output_with(page, "new samples")
    items = playground.locator("li")
    summary = playground.locator(".widget-label").filter(has_text="samples,")
    page.wait_for_function("el => el.querySelectorAll('li').length === 8", arg=playground.element_handle(),
                           timeout=30_000)
    first = items.all_inner_texts()
    assert "seed 0" in summary.inner_text() and "8 samples" in summary.inner_text(), summary.inner_text()
    _changes(page, items.first, _text, lambda: playground.get_by_role("button", name="new samples").click(),
             "the samples after 'new samples'")
    assert "seed 1" in summary.inner_text() and items.all_inner_texts() != first
    _changes(page, summary, _text, lambda: playground.get_by_role("checkbox").check(),
             "the summary after ticking greedy")
    # Greedy decoding from one prompt is deterministic: the eight samples are one name, repeated.
    assert "greedy (argmax)" in summary.inner_text() and "1 distinct" in summary.inner_text(), summary.inner_text()
    assert len(set(items.all_inner_texts())) == 1
    playground.screenshot(path=str(ARTIFACTS / f"{shot}-sampling-playground.png"))


def _drive_denoising_viewer(page, shot: str) -> None:
    viewer = _output_with(page, "new noise")
    image = viewer.locator("img").first
    # The readout is an ipywidgets Label; text_content reads it even while it is scrolled or clipped.
    readout = viewer.locator("div.widget-label").filter(has_text="· seed")
    assert "digit 3" in readout.text_content() and "20 DDIM steps" in readout.text_content(), readout.text_content()
    _changes(page, image, _src, lambda: viewer.locator("select").first.select_option(label="7"),
             "the chain after choosing the digit 7")
    assert "digit 7" in readout.text_content() and "as 7" in readout.text_content(), readout.text_content()
    _changes(page, readout, lambda el: el.text_content(), lambda: viewer.get_by_role("button", name="new noise").click(),
             "the readout after 'new noise'")
    assert "seed 1" in readout.text_content(), readout.text_content()
    _changes(page, image, _src, _press(viewer.locator(".noUi-handle").first, "ArrowLeft", 3),
             "the chain after lowering the guidance scale")
    page.wait_for_function("el => el.innerText.includes('s = 0.0')", arg=viewer.element_handle(), timeout=30_000)
    viewer.screenshot(path=str(ARTIFACTS / f"{shot}-denoising-viewer.png"))


def _drive_preference_widget(page, shot: str) -> None:
    study = _output_with(page, "left is real")
    readout = study.locator("div.widget-label").filter(has_text="you:")
    left_image = study.locator("img").first
    assert "trial 1 of 20" in readout.text_content(), readout.text_content()
    _changes(page, left_image, _src, lambda: study.get_by_role("button", name="left is real").click(),
             "the left digit after answering trial 1")
    assert "trial 2 of 20" in readout.text_content(), readout.text_content()
    for trial in range(2, 21):
        button = "left is real" if trial % 2 else "right is real"
        _changes(page, readout, lambda el: el.text_content(), lambda: study.get_by_role("button", name=button).click(),
                 f"the readout after answering trial {trial}")
    page.wait_for_function("el => el.innerText.includes('win rate')", arg=study.element_handle(), timeout=30_000)
    assert "of 20 trials" in readout.text_content() and "95% interval" in readout.text_content(), readout.text_content()
    study.screenshot(path=str(ARTIFACTS / f"{shot}-preference-widget.png"))


LESSON_WIDGETS = {
    "01_latent_spaces.ipynb": (_drive_latent_explorer, _drive_interpolation),
    "04_vaes.ipynb": (_drive_latent_explorer, _drive_interpolation),
    "05_attention.ipynb": (_drive_attention_viewer,),
    "06_gpt.ipynb": (_drive_sampling_playground,),
    "08_diffusion.ipynb": (_drive_denoising_viewer,),
    "09_evaluation.ipynb": (_drive_preference_widget,),
}


def test_every_lesson_that_creates_a_widget_is_driven_here():
    uses = {nb.name for nb in (ROOT / "notebooks").glob("[0-9][0-9]_*.py")
            if any(name in nb.read_text() for name in
                   ("LatentExplorer(", "InterpolationWidget(", "AttentionViewer(", "SamplingPlayground(",
                    "DenoisingViewer(", "PreferenceWidget("))}
    assert {name.replace(".py", ".ipynb") for name in uses} == set(LESSON_WIDGETS)


@pytest.mark.parametrize("lesson", list(LESSON_WIDGETS))
def test_lesson_widgets_respond_in_jupyterlab(lesson, lab, browser):
    page = _open_and_run(browser, lab(lesson))
    try:
        for drive in LESSON_WIDGETS[lesson]:
            drive(page, lesson[:2])
    finally:
        page.screenshot(path=str(ARTIFACTS / f"{lesson[:2]}-page.png"))
        page.close()

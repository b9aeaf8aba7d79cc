"""The latent explorer works in a real JupyterLab, driven in headless Chromium.

Skipped unless Debian's chromium (/usr/bin/chromium) and the Python playwright
package are installed (neither is part of the course's install):

    apt-get install -y chromium && .venv/bin/pip install playwright
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() or shutil.which("chromium") is None,
    reason="needs Debian's chromium at /usr/bin/chromium")
playwright_sync = pytest.importorskip("playwright.sync_api")

NOTEBOOK_CODE = """\
import torch
from gencourse.models import Autoencoder, AutoencoderConfig
from gencourse.widgets import LatentExplorer
torch.manual_seed(0)
model = Autoencoder(AutoencoderConfig(latent_dim=2))
LatentExplorer(model.decode, latent_dim=2, value_range=(-3, 3))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    """A JupyterLab server on localhost serving a notebook with a latent explorer."""
    root = tmp_path / "root"
    root.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(NOTEBOOK_CODE)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "explorer.ipynb")
    settings = tmp_path / "settings"
    settings.mkdir()
    (settings / "overrides.json").write_text(json.dumps(
        {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false",
                                                         "checkForUpdates": False}}))
    port, token = _free_port(), "gencourse-test"
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"),
               JUPYTER_DATA_DIR=str(tmp_path / "data"))
    # The kernels of the current environment must stay visible with a private data dir.
    env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(Path(sys.prefix) / "share" / "jupyter"),
                                                         env.get("JUPYTER_PATH", "")]))
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
         "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         f"--LabServerApp.app_settings_dir={settings}"],
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
        yield f"{base}/lab/tree/explorer.ipynb?reset&token={token}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def _run_all_cells(page, attempts: int = 3) -> None:
    """Run the notebook until its widget shows. On a busy machine JupyterLab may open its
    "Select Kernel" dialog late, on top of the notebook, and swallow the first Run All; accept
    the dialog (the notebook's own kernel is preselected) and try again."""
    for attempt in range(attempts):
        dialog = page.locator(".jp-Dialog")
        if dialog.count() and dialog.first.is_visible():
            dialog.get_by_role("button", name="Select").click()
            dialog.wait_for(state="detached", timeout=30_000)
        page.get_by_role("menuitem", name="Run").click()
        page.get_by_text("Run All Cells", exact=True).click()
        try:
            page.wait_for_selector(".widget-slider", timeout=40_000)
            return
        except playwright_sync.TimeoutError:
            if attempt == attempts - 1:
                raise


def test_latent_explorer_slider_redraws_the_image_in_jupyterlab(lab):
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page()
        page.goto(lab)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status=idle]", timeout=120_000)
        _run_all_cells(page)
        image = page.locator(".jupyter-widgets img").first
        label = page.locator(".widget-label").last
        before_src, before_label = image.get_attribute("src"), label.inner_text()
        assert "+0.00, +0.00" in before_label
        handle = page.locator(".noUi-handle").first
        handle.focus()
        for _ in range(20):
            handle.press("ArrowRight")
        page.wait_for_function(
            "([el, old]) => el.innerText !== old", arg=[label.element_handle(), before_label],
            timeout=30_000)
        assert label.inner_text() != before_label
        page.wait_for_function("([el, old]) => el.src !== old",
                               arg=[image.element_handle(), before_src], timeout=30_000)
        assert image.get_attribute("src") != before_src
        browser.close()

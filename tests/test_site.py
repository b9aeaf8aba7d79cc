"""The course builds as a static web site offline: every chapter page, no broken internal link,
no external asset needed to render, exercises without solutions; Chromium opens two pages.

Needs the site extra (``pip install -e .[site]``; ``course.py test`` installs it when ``CI``
is set). Without it the tests skip on a learner's machine and fail under CI.
"""
from __future__ import annotations

import html
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

from gencourse.assignments import BEGIN
from gencourse.site import SECTIONS, build_site

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "site"
STEMS = [p.stem for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))]


class _Refs(HTMLParser):
    """Collect (tag, attribute, url) for every link and every asset a page loads."""

    def __init__(self):
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value and name in ("href", "src"):
                self.refs.append((tag, name, value))


def _refs(page: Path) -> list[tuple[str, str, str]]:
    parser = _Refs()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.refs


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    try:
        import myst_nb  # noqa: F401
        import sphinx_book_theme  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("CI must build the site: install the site extra (course.py test does when CI is set)")
        pytest.skip("the site tools are not installed: `python3 course.py site` installs them")
    return build_site(ROOT, tmp_path_factory.mktemp("site") / "html").parent


def test_every_chapter_has_a_lesson_an_exercise_and_a_solution_page(site):
    for section in SECTIONS:
        for stem in STEMS:
            assert (site / section / f"{stem}.html").is_file(), f"{section}/{stem}.html is missing"
    index = (site / "index.html").read_text(encoding="utf-8")
    for stem in STEMS:
        assert f"lessons/{stem}.html" in index, f"the landing page does not link lesson {stem}"
    assert re.search(r">\d+ s</p>", index), "the chapter map shows no run time"


def test_no_internal_link_is_broken_and_no_asset_comes_from_outside(site):
    # _static/ holds the theme's own templates (Jinja source that happens to end in .html), not pages
    pages = sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)
    assert len(pages) >= 3 * len(STEMS)
    broken, external = [], []
    for page in pages:
        for tag, attr, url in _refs(page):
            parts = urlsplit(url)
            if parts.scheme in ("http", "https") or url.startswith("//"):
                # Links to papers and projects are fine; anything loaded to render the page is not.
                if not (tag == "a" and attr == "href"):
                    external.append(f"{page.relative_to(site)}: <{tag} {attr}={url}>")
                continue
            if parts.scheme or not parts.path:      # mailto:, data:, javascript:, "#anchor"
                continue
            target = (page.parent / unquote(parts.path)).resolve()
            if not target.exists():
                broken.append(f"{page.relative_to(site)} -> {url}")
    assert not broken, f"{len(broken)} broken internal links, e.g. {broken[:5]}"
    assert not external, f"pages load {len(external)} external assets, e.g. {external[:5]}"


MATHS_LESSON = "04_vaes"   # its ELBO is written in LaTeX


def test_maths_renderer_ships_with_the_site(site):
    scripts = [url for _, attr, url in _refs(site / "lessons" / f"{MATHS_LESSON}.html")
               if attr == "src" and "mathjax" in url.lower()]
    assert scripts, "no MathJax script on a lesson page with maths"
    assert all((site / "lessons" / urlsplit(url).path).resolve().is_file() for url in scripts)


def test_exercise_pages_hold_no_solutions_and_solution_pages_do(site):
    for stem in STEMS:
        solution = nbformat.read(ROOT / "solutions" / f"{stem}.ipynb", as_version=4)
        answers = [line.strip() for c in solution.cells if BEGIN in c.source
                   for line in c.source.split(BEGIN, 1)[1].split("### END SOLUTION", 1)[0].splitlines()
                   if len(line.strip()) > 15 and not line.strip().startswith("#")]
        assert answers, stem
        text = lambda section: html.unescape(re.sub(r"<[^>]+>", "", (site / section / f"{stem}.html").read_text(encoding="utf-8")))
        exercise_text, solution_text = text("exercises"), text("solutions")
        leaked = [a for a in answers if a in exercise_text]
        assert not leaked, f"exercises/{stem}.html shows solution lines: {leaked[:3]}"
        missing = [a for a in answers if a not in solution_text]
        assert not missing, f"solutions/{stem}.html lacks its answers, e.g. {missing[:2]}"
        assert "NotImplementedError" in exercise_text
        assert BEGIN not in exercise_text


def test_chromium_renders_the_front_page_and_a_chapter(site):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI must open the site in a browser, but {CHROMIUM} is missing")
        pytest.skip(f"no browser at {CHROMIUM}: install Debian's chromium to run this test")
    playwright = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"])
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        failed = []
        page.on("requestfailed", lambda request: failed.append(request.url))
        page.goto((site / "index.html").as_uri())
        assert "Chapter map" in page.inner_text("body")
        page.screenshot(path=str(ARTIFACTS / "index.png"), full_page=False)
        page.get_by_role("link", name=re.compile("Variational autoencoders")).first.click()
        page.wait_for_load_state("load")
        assert page.url.endswith(f"lessons/{MATHS_LESSON}.html")
        body = page.inner_text("body")
        assert "The ELBO: reconstruction minus KL" in body and "all checks passed" in body
        assert page.locator("img").count() >= 5, "the chapter's figures are missing"
        page.wait_for_selector("mjx-container", timeout=30_000)     # MathJax typeset the ELBO
        page.locator("mjx-container").first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"{MATHS_LESSON}.png"), full_page=False)
        browser.close()
    assert not failed, f"requests failed while rendering: {failed[:5]}"

"""The course as a static web site, built offline from the executed notebooks.

    gencourse site [--out DIR]      (or: python3 course.py site)

Sphinx with myst-nb renders the notebooks as they are committed (executed, outputs kept;
nothing is re-run) and sphinx-book-theme gives the navigation; every asset a page needs
to render ships with the site (MathJax from sphinx-mathjax-offline, no CDN). Widgets need a
live kernel, so their saved state is dropped: the static figure beside each widget is what
a reader of the site sees. The landing page holds the chapter map with each lesson's
measured run time (from ``benchmarks/notebooks.json``).

Layout of the site: ``index.html``; ``lessons/NN_slug.html``; ``exercises/NN_slug.html``
(the student versions, no solutions); ``solutions/NN_slug.html``.
"""
from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

SECTIONS = {"lessons": "notebooks", "exercises": "exercises", "solutions": "solutions"}
CONF = '''\
project = "gencourse"
author = "the gencourse authors"
extensions = ["myst_nb", "sphinx-mathjax-offline"]   # the latter is its real (hyphenated) name
myst_enable_extensions = ["dollarmath", "amsmath"]
nb_execution_mode = "off"          # the notebooks are committed executed
html_theme = "sphinx_book_theme"
html_title = "gencourse: a hands-on course on generative AI"
html_theme_options = {"show_toc_level": 2, "use_download_button": True}
exclude_patterns = ["_build"]
suppress_warnings = ["mystnb.unknown_mime_type", "myst.header"]
'''


def chapter_map(root: Path) -> list[dict]:
    """One entry per lesson: number, title (the notebook's first heading), summary (the README's
    course table) and the measured idle run time, if any."""
    summaries = dict(re.findall(r"^\| (\d\d) \| (.+?) \| \[notebooks/", (root / "README.md").read_text(), re.M))
    store = root / "benchmarks" / "notebooks.json"
    times = json.loads(store.read_text()) if store.exists() else {}
    chapters = []
    for path in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        heading = next((line for c in nb.cells if c.cell_type == "markdown"
                        for line in c.source.splitlines() if line.startswith("# ")), f"# {path.stem}")
        seconds = times.get(f"notebooks/{path.name}", {}).get("idle")
        chapters.append({"number": path.name[:2], "stem": path.stem, "title": heading[2:].strip(),
                         "summary": summaries.get(path.name[:2], ""), "seconds": seconds})
    return chapters


def _stage_notebook(source: Path, target: Path) -> None:
    nb = nbformat.read(source, as_version=4)
    nb.metadata.pop("widgets", None)   # widget views need a kernel; the static figure stands in
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)


def _index_page(chapters: list[dict]) -> str:
    rows = "\n".join(
        f"| {c['number']} | [{c['title']}](lessons/{c['stem']}.ipynb) | {c['summary']} | "
        f"{'%.0f s' % c['seconds'] if c['seconds'] else '—'} | [exercises](exercises/{c['stem']}.ipynb) | "
        f"[solutions](solutions/{c['stem']}.ipynb) |" for c in chapters)
    toc = {section: "\n".join(f"{section}/{c['stem']}" for c in chapters) for section in SECTIONS}
    return f"""# gencourse: a hands-on course on generative AI

Ordered lessons that take you from latent spaces through GANs, VAEs and transformers, every idea
built from scratch in a few lines of PyTorch and every claim measured in the notebook. Each lesson
runs in about a minute on a laptop CPU; the run times below were measured on the course's 2-core
test machine (idle, model zoo built). Widgets need a live kernel: on this site you see the static
figure beside each one. To run the course: `python3 course.py lab` in a checkout.

## Chapter map

| # | lesson | what it shows | run time | | |
|---|---|---|---:|---|---|
{rows}

```{{toctree}}
:caption: Lessons
:maxdepth: 1

{toc['lessons']}
```

```{{toctree}}
:caption: Exercises
:maxdepth: 1

{toc['exercises']}
```

```{{toctree}}
:caption: Solutions
:maxdepth: 1

{toc['solutions']}
```
"""


def stage(root: Path, source_dir: Path) -> list[dict]:
    """Write the Sphinx source tree (conf.py, index.md, the notebooks) into ``source_dir``."""
    if source_dir.exists():
        shutil.rmtree(source_dir)
    source_dir.mkdir(parents=True)
    chapters = chapter_map(root)
    for section, folder in SECTIONS.items():
        for c in chapters:
            path = root / folder / f"{c['stem']}.ipynb"
            if not path.exists():
                raise FileNotFoundError(f"{path} is missing: run `gencourse build {c['number']}`")
            _stage_notebook(path, source_dir / section / path.name)
    (source_dir / "conf.py").write_text(CONF)
    (source_dir / "index.md").write_text(_index_page(chapters))
    return chapters


def build_site(root: Path, out: Path) -> Path:
    """Build the site of the checkout at ``root`` into ``out`` (replaced); return its index.html."""
    for module, package in (("sphinx", "sphinx"), ("myst_nb", "myst-nb"),
                            ("sphinx_book_theme", "sphinx-book-theme"),
                            ("sphinx-mathjax-offline", "sphinx-mathjax-offline")):
        try:
            importlib.import_module(module)
        except ImportError:
            raise SystemExit(f"building the site needs {package}: run `python3 course.py site`, or "
                             f"`pip install -e .[site]` in your environment") from None
    source_dir = out.parent / f"{out.name}-source"
    stage(root, source_dir)
    if out.exists():
        shutil.rmtree(out)
    done = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-j", "2",
                           str(source_dir), str(out)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"sphinx failed:\n{done.stderr[-4000:]}")
    return out / "index.html"

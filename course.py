#!/usr/bin/env python3
"""Set up the course and open it, or run its tests: the README's two commands.

    python3 course.py lab     # install into .venv, then open JupyterLab on chapter 00
    python3 course.py test    # install into .venv (with test tools), then run every test
    python3 course.py install # only install (and train the model zoo, minutes, once)
    python3 course.py site    # build the course as a static web site in build/site (offline)

Nothing but Python 3.10+ is needed beforehand. The first run creates a virtual
environment in ``.venv`` and installs the course into it; later runs reuse it and
only reinstall when ``pyproject.toml`` or the torch choice changed.

Choosing torch. By default a CPU build of torch is installed (``torch==2.13.0``).
Override with environment variables:

    GENCOURSE_TORCH        the pip requirement for torch, e.g. "torch==2.5.1"
    GENCOURSE_TORCH_INDEX  an index to take it from, e.g. a CUDA wheel index
    GENCOURSE_VENV         where to put the virtual environment (default: .venv)
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
FIRST_NOTEBOOK = "notebooks/00_generative_ai.ipynb"
DEFAULT_TORCH = "torch==2.13.0"
KERNEL_NAME = "gencourse"
# The test command that .ci/run runs; pytest's own options live in pyproject.toml.
PYTEST_ARGS = ["-n", "2", "--dist", "loadfile", "--nbval-lax", "--nbval-current-env",
               "--nbval-cell-timeout", "600", "-q"]


def venv_dir() -> Path:
    return Path(os.environ.get("GENCOURSE_VENV", ROOT / ".venv")).resolve()


def venv_python(env: Path) -> Path:
    scripts = "Scripts" if os.name == "nt" else "bin"
    name = "python.exe" if os.name == "nt" else "python"
    return env / scripts / name


def run(cmd: list[str], **kwargs) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kwargs)


def install_stamp(torch_req: str, torch_index: str, extras: str) -> str:
    """A fingerprint of everything the install depends on."""
    digest = hashlib.sha256()
    for part in ((ROOT / "pyproject.toml").read_bytes(), torch_req.encode(), torch_index.encode(),
                 extras.encode()):
        digest.update(part)
    return digest.hexdigest()


def ensure_installed(extras: str = "dev") -> Path:
    """Create the virtual environment if needed and install the course with ``extras`` (its test
    tools by default; CI adds the instructor and site tools, which it tests too)."""
    env = venv_dir()
    python = venv_python(env)
    if not python.exists():
        print(f"Creating a virtual environment in {env} ...", flush=True)
        try:
            venv.EnvBuilder(with_pip=True).create(env)
        except Exception as exc:  # e.g. Debian without python3-venv
            sys.exit(f"Could not create a virtual environment in {env}: {exc}\n"
                     "On Debian/Ubuntu install it with: sudo apt-get install python3-venv")
    torch_req = os.environ.get("GENCOURSE_TORCH", DEFAULT_TORCH)
    torch_index = os.environ.get("GENCOURSE_TORCH_INDEX", "")
    stamp_file = env / "gencourse-install.stamp"
    if os.environ.get("CI"):
        extras = "dev,instructor,site"
    stamp = install_stamp(torch_req, torch_index, extras)
    if stamp_file.exists() and stamp_file.read_text() == stamp:
        return python
    pip = [python, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    # torch first, so that the course's looser "torch>=..." is already satisfied and
    # pip never reaches for a multi-GB CUDA build the user did not ask for.
    run(pip + [torch_req] + (["--index-url", torch_index] if torch_index else []))
    run(pip + ["-e", f".[{extras}]"], cwd=ROOT)
    run([python, "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL_NAME,
         "--display-name", "Python (gencourse)"])
    stamp_file.write_text(stamp)
    return python


def build_zoo(python: Path) -> int:
    """Train the models later chapters reuse, if they are not cached yet (minutes, once),
    so that no lesson or test waits for one. Returns the command's exit status."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.call([str(python), "-m", "gencourse.cli", "zoo", "build"], cwd=ROOT, env=env)


def ensure_browser() -> None:
    """Under CI, install Debian's chromium for the browser tests if it is missing (root only).

    Never a downloaded browser build: apt-get from the distribution's own packages. A
    learner's machine is left alone; the browser tests then skip and say how to enable them.
    """
    if not os.environ.get("CI") or Path("/usr/bin/chromium").exists():
        return
    if not (hasattr(os, "geteuid") and os.geteuid() == 0):
        print("CI is set but /usr/bin/chromium is missing and this is not root: install Debian's "
              "chromium (apt-get install -y chromium) or the browser tests will fail", flush=True)
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update", "-q"], env=env)
    run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"], env=env)


def main(argv: list[str]) -> int:
    if len(argv) < 1 or argv[0] not in {"lab", "test", "install", "site"}:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "lab":
        python = ensure_installed()
        os.chdir(ROOT)
        as_root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        # Serve the whole course (so exercises/ is one click away) and open chapter 00.
        return subprocess.call([str(python), "-m", "jupyter", "lab", f"--ServerApp.root_dir={ROOT}",
                                f"--LabApp.default_url=/lab/tree/{FIRST_NOTEBOOK}", *as_root, *rest])
    if command == "install":
        return build_zoo(ensure_installed())
    if command == "site":
        python = ensure_installed("dev,site")
        return subprocess.call([str(python), "-m", "gencourse.cli", "site", *rest], cwd=ROOT)
    python = ensure_installed()
    ensure_browser()
    os.chdir(ROOT)
    if not rest and build_zoo(python):      # a chosen test file trains only what it needs
        return 1
    cmd = [str(python), "-m", "pytest", *PYTEST_ARGS, *rest]
    print("+", " ".join(cmd), flush=True)
    # Two test workers share the cores: one thread each avoids oversubscription, which
    # slows small-tensor PyTorch code (and the notebooks' kernels) many times over.
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    return subprocess.call(cmd, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

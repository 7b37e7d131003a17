"""Shared fixtures: the seeds, the eval data (when present) and one real index
of the seeds built with the bundled model, once per test session.

Every test writes only under temporary folders: before any test module is
imported, :func:`pytest_configure` points the paratopic cache and every
HOME-based cache the libraries use (numba, matplotlib, Hugging Face, torch,
Jupyter/IPython, XDG, hypothesis) at a fresh temporary folder, and
:func:`_repository_unchanged` fails the session if the run created or removed
a file inside the repository, or changed one that git ignores (out/...).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
#: The labelled evaluation data: ``$PARATOPIC_EVAL_DIR``, else ``<repo>/../shared/eval``.
EVAL = Path(os.environ.get("PARATOPIC_EVAL_DIR") or REPO.parent / "shared" / "eval").expanduser().resolve()

HWASONG = ["000_bafd0c5b1fa3f0f2:8", "000_bafd0c5b1fa3f0f2:9"]
HANOI_DOC = "002_d3edf12b0699b25c"

#: Environment variables that send caches and settings to the session's folder (relative to it).
ISOLATED_ENV = {
    "PARATOPIC_CACHE_DIR": "cache",
    "HOME": "home",
    "XDG_CACHE_HOME": "home/.cache",
    "XDG_CONFIG_HOME": "home/.config",
    "XDG_DATA_HOME": "home/.local/share",
    "XDG_STATE_HOME": "home/.local/state",
    "NUMBA_CACHE_DIR": "cache/numba",  # where cluster/topics/reduction.py would put it; also numba's own cache=True code
    "MPLCONFIGDIR": "home/.config/matplotlib",
    "HF_HOME": "home/.cache/huggingface",
    "TORCH_HOME": "home/.cache/torch",
    "IPYTHONDIR": "home/.ipython",
    "HYPOTHESIS_STORAGE_DIRECTORY": "hypothesis",  # else .hypothesis/ in the working directory
}

#: Files a test run may leave in the repository: Python's and the tools' own caches (all git-ignored).
ALLOWED_IN_REPO = {"__pycache__", ".pytest_cache", ".ruff_cache"}
_SKIP_DIRS = {".git", ".venv"}

_session_dir: Path | None = None
_saved_env: dict[str, str | None] = {}


def pytest_configure(config: pytest.Config) -> None:
    """Point every cache at a fresh temporary folder, before test modules (and numba) are imported."""
    global _session_dir
    _session_dir = Path(tempfile.mkdtemp(prefix="paratopic-tests-"))
    for name, relative in ISOLATED_ENV.items():
        _saved_env[name] = os.environ.get(name)
        folder = _session_dir / relative
        folder.mkdir(parents=True, exist_ok=True)
        os.environ[name] = str(folder)


def pytest_unconfigure(config: pytest.Config) -> None:
    for name, value in _saved_env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    if _session_dir is not None:
        shutil.rmtree(_session_dir, ignore_errors=True)


def tree_state(root: Path = REPO) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` (less .git, .venv and the caches in ALLOWED_IN_REPO): ``{path: (size, mtime_ns)}``."""
    state = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS and d not in ALLOWED_IN_REPO and not d.endswith(".egg-info")]
        for name in files:
            path = Path(folder, name)
            try:
                stat = path.lstat()
            except FileNotFoundError:
                continue
            state[path.relative_to(root).as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return state


def _original_env() -> dict[str, str]:
    """The environment as it was before :func:`pytest_configure` (git reads the user's own ~/.gitconfig)."""
    env = {k: v for k, v in os.environ.items() if k not in _saved_env}
    env.update({k: v for k, v in _saved_env.items() if v is not None})
    return env


def _git_ignored(paths: list[str], root: Path = REPO) -> set[str]:
    """Those of ``paths`` that git ignores; all of them outside a git checkout."""
    try:
        done = subprocess.run(["git", "check-ignore", "-z", "--stdin"], cwd=root, capture_output=True,
                              input="\0".join(paths), text=True, timeout=60, env=_original_env())
    except (OSError, subprocess.SubprocessError):
        return set(paths)
    if done.returncode not in (0, 1):  # 1: none ignored; 128: not a git checkout
        return set(paths)
    return set(filter(None, done.stdout.split("\0")))


def tree_changes(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]], root: Path = REPO) -> list[str]:
    """What a run did to the tree: ``+ path`` created, ``- path`` removed, ``~ path`` changed where git ignores it
    (out/ and the like). Changes to other existing files are left out: those are the developer's edits while the
    tests ran, not outputs."""
    changed = [p for p in after.keys() & before.keys() if after[p] != before[p]]
    return sorted([f"+ {p}" for p in after.keys() - before.keys()]
                  + [f"- {p}" for p in before.keys() - after.keys()]
                  + [f"~ {p}" for p in (_git_ignored(changed, root) if changed else ())])


@pytest.fixture(scope="session", autouse=True)
def _repository_unchanged():
    """Fails the session (an error at the last teardown) if a test created or removed a file in the repository or
    changed one in its git-ignored folders (out/ included): tests write under their temporary folders only."""
    before = tree_state()
    yield
    changes = tree_changes(before, tree_state())
    if changes:
        pytest.fail("the test run wrote into the repository (tests must write under tmp_path):\n  "
                    + "\n  ".join(changes[:50]), pytrace=False)


@pytest.fixture(scope="session")
def eval_dir() -> Path:
    if not EVAL.is_dir():
        pytest.skip(f"evaluation data not found at {EVAL} (set PARATOPIC_EVAL_DIR)")
    return EVAL


@pytest.fixture(scope="session")
def e5():
    from embed import load_embedder

    return load_embedder()  # the default: multilingual-e5-small on ONNX Runtime


@pytest.fixture(scope="session")
def seed_index(e5):
    from embed import ParagraphIndex

    return ParagraphIndex.build(SEEDS, embedder=e5, cache=False)

"""The test session writes only under temporary folders (tests/conftest.py)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import platformdirs
from conftest import ISOLATED_ENV, REPO, tree_changes, tree_state


def _inside(path: Path, folder: Path) -> bool:
    return Path(path).resolve().is_relative_to(folder.resolve())


def test_every_cache_points_into_a_temporary_folder():
    from cluster.topics.reduction import numba_cache_dir
    from embed.store.cache import cache_root, default_cache_path

    session = Path(os.environ["PARATOPIC_CACHE_DIR"]).parent
    assert _inside(session, Path(tempfile.gettempdir())) and not _inside(session, REPO)
    paths = [cache_root(), default_cache_path(), numba_cache_dir(), Path.home(), Path("~").expanduser(),
             Path(platformdirs.user_cache_dir("paratopic")), Path(platformdirs.user_config_dir("paratopic")),
             *(Path(os.environ[name]) for name in ISOLATED_ENV)]
    outside = [str(p) for p in paths if not _inside(p, session)]
    assert not outside, outside


def test_numba_compiles_into_the_session_cache():
    from numba.core import config

    assert _inside(Path(config.CACHE_DIR), Path(os.environ["PARATOPIC_CACHE_DIR"]))


def test_tree_check_sees_new_removed_and_changed_files(tmp_path: Path):
    (tmp_path / "kept.txt").write_text("a")
    (tmp_path / "changed.txt").write_text("a")
    (tmp_path / "removed.txt").write_text("a")
    (tmp_path / "__pycache__").mkdir()
    before = tree_state(tmp_path)
    (tmp_path / "changed.txt").write_text("bb")
    (tmp_path / "removed.txt").unlink()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "report.html").write_text("new")
    (tmp_path / "__pycache__" / "x.pyc").write_text("allowed")
    # outside a git checkout every changed file counts (inside, only those git ignores, such as out/)
    assert tree_changes(before, tree_state(tmp_path), tmp_path) == ["+ out/report.html", "- removed.txt", "~ changed.txt"]

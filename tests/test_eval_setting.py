"""One setting for the evaluation data: ``$PARATOPIC_EVAL_DIR``, else ``<repo>/../shared/eval``.

It is read in two places only, ``tests/conftest.py`` (``EVAL``, for the tests) and ``benchmarks/evaldata.py``
(``EVAL``, for the benchmarks and scripts); everything else takes the folder from them. The scan below fails
on any other file in tests/, benchmarks/, scripts/ or notebooks/ that reads the variable or builds the
default path itself.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO

#: The two files that read the setting.
READERS = {"tests/conftest.py", "benchmarks/evaldata.py"}
FOLDERS = ("tests", "benchmarks", "scripts", "notebooks")


def _sources() -> dict[str, str]:
    """Python code of every file in FOLDERS (notebooks: their code cells), by path relative to the repository."""
    sources = {}
    for folder in FOLDERS:
        for path in sorted((REPO / folder).rglob("*")):
            rel = path.relative_to(REPO).as_posix()
            if path.suffix == ".py":
                sources[rel] = path.read_text(encoding="utf-8")
            elif path.suffix == ".ipynb":
                cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
                sources[rel] = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return sources


def _own_readings(tree: ast.AST) -> list[str]:
    """Where code reads PARATOPIC_EVAL_DIR from the environment or builds the path .../shared/eval itself."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and node.value == "PARATOPIC_EVAL_DIR":
            parent = getattr(node, "parent", None)
            if isinstance(parent, (ast.Call, ast.Subscript)):  # os.environ.get("..."), os.environ["..."], getenv
                found.append(f"line {node.lineno}: reads $PARATOPIC_EVAL_DIR")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            parts = [n.value for n in (node.left, node.right) if isinstance(n, ast.Constant)]
            if "eval" in parts or any(isinstance(p, str) and "shared/eval" in p for p in parts):
                found.append(f"line {node.lineno}: builds a path .../eval")
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "Path":
            for arg in node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and "shared" in arg.value:
                    found.append(f"line {node.lineno}: Path({arg.value!r})")
    return found


def _parse(source: str) -> ast.AST:
    tree = ast.parse(source)
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            child.parent = node
    return tree


def test_only_conftest_and_evaldata_read_the_setting():
    sources = _sources()
    assert READERS <= sources.keys()
    offenders = {path: hits for path, source in sources.items() if path not in READERS | {"tests/test_eval_setting.py"}
                 for hits in [_own_readings(_parse(source))] if hits}
    assert not offenders, f"read the evaluation data folder from tests/conftest.py EVAL or benchmarks/evaldata.py: {offenders}"
    for reader in READERS:  # the scan does see a reading
        assert _own_readings(_parse(sources[reader])), reader


def _eval_dirs(env: dict[str, str]) -> list[str]:
    code = ("import sys; sys.path[:0] = ['tests', 'benchmarks']; import conftest, evaldata; "
            "print(conftest.EVAL); print(evaldata.EVAL)")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    return done.stdout.splitlines()


def test_tests_and_benchmarks_read_the_same_folder(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k != "PARATOPIC_EVAL_DIR"}
    default = str((REPO.parent / "shared" / "eval").resolve())
    assert _eval_dirs(env) == [default, default]
    elsewhere = tmp_path / "eval data"
    assert _eval_dirs({**env, "PARATOPIC_EVAL_DIR": str(elsewhere)}) == [str(elsewhere.resolve())] * 2

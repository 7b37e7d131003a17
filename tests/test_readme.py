"""README.md says only what holds: its main command's job and its Library snippet run, in order, in a
temporary folder, and its seeds section is what that run gives (scripts/readme_seeds.py writes it)."""

from __future__ import annotations

import importlib.util
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CLI = [sys.executable, "-c", "from paratopic.cli import app; app()"]


def _script():
    spec = importlib.util.spec_from_file_location("readme_seeds", ROOT / "scripts" / "readme_seeds.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def _main_job_commands(text: str) -> list[list[str]]:
    """The README's first command, less its set-up steps (venv, pip): the paratopic commands, in order."""
    first = _blocks(text, "bash")[0].strip()
    steps = [shlex.split(step) for step in first.split("&&")]
    commands = [step for step in steps if Path(step[0]).name == "paratopic"]
    assert commands and steps[-len(commands):] == commands, f"unexpected first command: {first}"
    return [CLI + step[1:] for step in commands]


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "seeds", work / "seeds")
    text = README.read_text(encoding="utf-8")
    for command in _main_job_commands(text):
        done = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{shlex.join(command[3:])} failed:\n{done.stdout}\n{done.stderr}"
    library = text[text.index("### Library"):]
    snippet = _blocks(library, "python")[0]
    done = subprocess.run([sys.executable, "-c", snippet], cwd=work, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"the README's Library snippet failed:\n{done.stderr[-3000:]}"
    return work


def test_main_job_and_library_snippet_run(readme_run: Path) -> None:
    assert (readme_run / "out" / "seeds" / "report.html").is_file()
    assert (readme_run / "out" / "seeds" / "index" / "topics" / "topic_model.json").is_file()
    assert (readme_run / "out" / "seeds" / "index" / "stories" / "stories.json").is_file()  # `run` fits stories too
    assert "## Stories" in (readme_run / "out" / "seeds" / "report.md").read_text(encoding="utf-8")
    assert (readme_run / "out" / "library" / "report.html").is_file()


def test_seeds_section_matches_the_run(readme_run: Path) -> None:
    script = _script()
    current = script.readme_section(README.read_text(encoding="utf-8"))
    fresh = script.seeds_section(readme_run / "out" / "seeds")
    text = README.read_text(encoding="utf-8")
    if script.readme_digest(text) == script.vectors_digest(readme_run / "out" / "seeds"):
        assert current == fresh, f"README.md's seeds section is stale; run python scripts/readme_seeds.py\n{fresh}"
    else:  # another CPU's int8 kernels: the README allows a paragraph or two to move
        assert script.close_enough(current, fresh), f"README.md's seeds section is stale:\n{fresh}"
    assert script.table_rows(current), "README.md's seeds section has no topic rows"


def test_tolerant_comparison_allows_only_small_moves() -> None:
    script = _script()
    current = script.readme_section(README.read_text(encoding="utf-8"))
    rows = script.table_rows(current)
    assert script.close_enough(current, current)
    one_moved = current.replace(f"| {rows[0][1]} |", f"| {rows[0][1] - 1} |", 1)
    assert script.close_enough(current, one_moved)
    far = current.replace(f"| {rows[0][1]} |", f"| {rows[0][1] + 5} |", 1)
    assert not script.close_enough(current, far)
    fewer = "\n".join(line for line in current.splitlines() if not line.startswith(f"| {len(rows) - 1} |"))
    assert not script.close_enough(current, fewer)

"""Generated input files (hypothesis): every one ends in a result or a clear
error naming the file; none in a traceback or a hang."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import pytest
from harness import input_files, run_case, write_case
from hypothesis import HealthCheck, given, settings

_counter = itertools.count()


@pytest.fixture(scope="module")
def fuzz_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder under pytest's temporary folders for every generated case (hypothesis runs a test many times
    with one fixture value, so each case gets a fresh folder inside it)."""
    return tmp_path_factory.mktemp("fuzz")


def _check(case: tuple[str, bytes], e5, fuzz_root: Path) -> None:
    root = Path(tempfile.mkdtemp(prefix="case-", dir=fuzz_root))
    n = next(_counter)
    path = write_case(root / f"case{n}", *case)
    outcome, detail = run_case(path, e5, root / f"index{n}")
    assert outcome in ("result", "clear error"), f"{case!r}: {outcome}: {detail}"


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=input_files())
def test_generated_inputs_end_in_a_result_or_a_clear_error(case, e5, fuzz_root):
    _check(case, e5, fuzz_root)


@pytest.mark.slow
@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=input_files())
def test_a_thousand_generated_inputs_end_in_a_result_or_a_clear_error(case, e5, fuzz_root):
    _check(case, e5, fuzz_root)

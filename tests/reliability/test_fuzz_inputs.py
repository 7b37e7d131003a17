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


def _check(case: tuple[str, bytes], e5) -> None:
    root = Path(tempfile.mkdtemp(prefix="fuzz-"))
    n = next(_counter)
    path = write_case(root / f"case{n}", *case)
    outcome, detail = run_case(path, e5, root / f"index{n}")
    assert outcome in ("result", "clear error"), f"{case!r}: {outcome}: {detail}"


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=input_files())
def test_generated_inputs_end_in_a_result_or_a_clear_error(case, e5):
    _check(case, e5)


@pytest.mark.slow
@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=input_files())
def test_a_thousand_generated_inputs_end_in_a_result_or_a_clear_error(case, e5):
    _check(case, e5)

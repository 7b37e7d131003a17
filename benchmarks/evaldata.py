"""Where the evaluation data is, for the benchmarks and scripts.

``$PARATOPIC_EVAL_DIR`` when set, else ``<repo>/../shared/eval`` (the tests
read the same setting in ``tests/conftest.py``). Each data set is a folder
with its README: ``vntc``, ``xquad_vi``, ``20newsgroups``, ``vims``.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EVAL = Path(os.environ.get("PARATOPIC_EVAL_DIR") or ROOT.parent / "shared" / "eval").expanduser().resolve()
VNTC = EVAL / "vntc" / "vntc_test_1000perclass.jsonl"
VIMS = EVAL / "vims" / "vims_articles.jsonl"


def missing(path: Path) -> str:
    """The message for a run that needs ``path`` and does not find it."""
    return (f"{path} not found: this needs the evaluation data; set PARATOPIC_EVAL_DIR to its folder "
            f"(default {ROOT.parent / 'shared' / 'eval'})")

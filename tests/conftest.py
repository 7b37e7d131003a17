"""Shared fixtures: the seeds, the eval data (when present) and one real index
of the seeds built with the bundled model, once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
EVAL = REPO.parent / "shared" / "eval"

HWASONG = ["000_bafd0c5b1fa3f0f2:8", "000_bafd0c5b1fa3f0f2:9"]
HANOI_DOC = "002_d3edf12b0699b25c"


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every test session gets its own embedding cache folder."""
    os.environ["PARATOPIC_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def eval_dir() -> Path:
    if not EVAL.is_dir():
        pytest.skip(f"evaluation data not found at {EVAL}")
    return EVAL


@pytest.fixture(scope="session")
def e5():
    from embed import load_embedder

    return load_embedder()  # the default: multilingual-e5-small on ONNX Runtime


@pytest.fixture(scope="session")
def seed_index(e5):
    from embed import ParagraphIndex

    return ParagraphIndex.build(SEEDS, embedder=e5, cache=False)

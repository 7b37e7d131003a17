"""What the ViMs benchmarks share: where the data is, and a quiet start."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VIMS = ROOT.parent / "shared" / "eval" / "vims" / "vims_articles.jsonl"


def prepare(quiet: tuple[str, ...] = ("cluster", "embed", "bertopic", "BERTopic")) -> None:
    """Log progress lines only, silence the libraries' chatter, and stop with a clear message without ViMs."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name in quiet:
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    if not VIMS.is_file():
        raise SystemExit(f"{VIMS} not found: this benchmark needs ../shared/eval/vims beside the repository")

"""What the ViMs benchmarks share: where the data is, and a quiet start."""

from __future__ import annotations

import logging
import warnings

from evaldata import VIMS, missing


def prepare(quiet: tuple[str, ...] = ("cluster", "embed", "bertopic", "BERTopic")) -> None:
    """Log progress lines only, silence the libraries' chatter, and stop with a clear message without ViMs."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name in quiet:
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    if not VIMS.is_file():
        raise SystemExit(missing(VIMS))

"""Saving and loading a fitted topic model: JSON + .npy, never pickle.

Layout::

    DIR/topic_model.json     # parameters, keywords, labels, the index it belongs to
    DIR/labels.npy           # topic of each fitted paragraph (int64)
    DIR/fitted_mask.npy      # which index rows were fitted (bool)
    DIR/centroids.npy        # unit topic centres (float32)
    DIR/thresholds.npy       # per-topic outlier thresholds (float32)
    DIR/embedding_2d.npy     # map coordinates, when computed

The JSON records a fingerprint of the index (SHA-256 over paragraph ids,
text hashes and vectors) and, when given, the index directory and the
SHA-256 of its manifest. Loading against another index is refused.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cluster.errors import IndexMismatchError, ModelFormatError

if TYPE_CHECKING:
    from cluster.topics import TopicModel

__all__ = ["save_model", "load_model", "index_fingerprint"]

logger = logging.getLogger(__name__)

FORMAT = "paratopic-topics"
FORMAT_VERSION = 1
MODEL_FILE = "topic_model.json"
_ARRAYS = ("labels", "fitted_mask", "centroids", "thresholds")
_INIT_PARAMS = (
    "n_neighbors", "n_components", "min_cluster_size", "min_samples", "cluster_selection_method",
    "include_flagged", "outlier_threshold", "n_topics", "language", "n_keywords", "diversity", "random_state",
)


def index_fingerprint(index: Any) -> str:
    """SHA-256 over an index's paragraph ids, text hashes and vectors."""
    digest = hashlib.sha256()
    table = index.paragraphs
    digest.update("\n".join(table["id"].astype(str)).encode("utf-8"))
    digest.update("\n".join(table["text_hash"].astype(str)).encode("utf-8"))
    digest.update(np.ascontiguousarray(index.vectors, dtype=np.float32).tobytes())
    return digest.hexdigest()


def _manifest_sha(index_dir: Path) -> str | None:
    path = index_dir / "manifest.json"
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.save(handle, array, allow_pickle=False)


def save_model(model: TopicModel, directory: Path, *, index_dir: str | Path | None = None) -> Path:
    """Write ``model`` to ``directory`` (created if needed). Returns it."""
    if directory.exists() and not directory.is_dir():
        raise ModelFormatError(f"{directory}: exists and is not a directory")
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {
        "labels": np.asarray(model._fit_labels, dtype=np.int64),
        "fitted_mask": np.asarray(model.fitted_mask_, dtype=bool),
        "centroids": np.asarray(model.centroids_, dtype=np.float32),
        "thresholds": np.asarray(model.thresholds_, dtype=np.float32),
    }
    if model._embedding_2d is not None:
        arrays["embedding_2d"] = np.asarray(model._embedding_2d, dtype=np.float64)
    for name, array in arrays.items():
        _save_npy(directory / f"{name}.npy", array)
    if "embedding_2d" not in arrays:
        (directory / "embedding_2d.npy").unlink(missing_ok=True)
    recorded_dir = Path(index_dir).resolve() if index_dir is not None else getattr(model, "index_dir_", None)
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "init_params": {name: getattr(model, name) for name in _INIT_PARAMS},
        "extra_stopwords": sorted(model.stopwords or []),
        "params": model.params_,
        "message": model.message_,
        "n_topics": model.n_topics_,
        "raw_outlier_share": getattr(model, "raw_outlier_share_", None),
        "custom_labels": {str(k): v for k, v in model._custom_labels.items()},
        "keywords": {str(t): [[w, float(s)] for w, s in pairs] for t, pairs in model._keywords.items()},
        "stopwords_info": getattr(model, "stopwords_info_", None),
        "index": {
            "fingerprint": index_fingerprint(model.index),
            "n_paragraphs": len(model.index.paragraphs),
            "directory": str(recorded_dir) if recorded_dir is not None else None,
            "manifest_sha256": _manifest_sha(Path(recorded_dir)) if recorded_dir is not None else None,
        },
        "arrays": sorted(arrays),
    }
    (directory / MODEL_FILE).write_text(json.dumps(document, indent=2, ensure_ascii=False, default=str), "utf-8")
    logger.info("saved topic model (%d topics) to %s", model.n_topics_, directory)
    return directory


def load_model(cls: type[TopicModel], directory: Path, index: Any = None) -> TopicModel:
    """Read a model saved by :func:`save_model` and attach its index."""
    from embed import ParagraphIndex

    path = directory / MODEL_FILE
    if not path.exists():
        raise ModelFormatError(f"{directory}: not a saved topic model (no {MODEL_FILE})")
    try:
        document = json.loads(path.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFormatError(f"{path}: corrupted ({exc})") from exc
    if document.get("format") != FORMAT or document.get("format_version") != FORMAT_VERSION:
        raise ModelFormatError(
            f"{path}: format {document.get('format')!r} version {document.get('format_version')!r}; "
            f"expected {FORMAT!r} version {FORMAT_VERSION}"
        )
    recorded = document["index"]
    index_dir: Path | None = None
    if index is None:
        if not recorded.get("directory"):
            raise IndexMismatchError(
                f"{directory}: the model records no index directory; pass the index: TopicModel.load(dir, index=...)"
            )
        index = recorded["directory"]
    if isinstance(index, (str, Path)):
        index_dir = Path(index).resolve()
        index = ParagraphIndex.load(index_dir)
    fingerprint = index_fingerprint(index)
    if fingerprint != recorded["fingerprint"]:
        raise IndexMismatchError(
            f"{directory}: this topic model was fitted on another index ({recorded['n_paragraphs']} paragraphs, "
            f"fingerprint {recorded['fingerprint'][:12]}, saved from {recorded.get('directory') or 'an unsaved index'}); "
            f"the index given has {len(index.paragraphs)} paragraphs, fingerprint {fingerprint[:12]}"
            + (f" ({index_dir})" if index_dir else "")
        )
    arrays = {}
    for name in [*_ARRAYS, *(["embedding_2d"] if "embedding_2d" in document.get("arrays", []) else [])]:
        file = directory / f"{name}.npy"
        if not file.exists():
            raise ModelFormatError(f"{file}: missing; the topic model directory is incomplete")
        arrays[name] = np.load(file, allow_pickle=False)
    init = dict(document["init_params"])
    model = cls(**init, stopwords=document.get("extra_stopwords") or None)
    model.index = index
    model.index_dir_ = index_dir or (Path(recorded["directory"]) if recorded.get("directory") else None)
    model.fitted_mask_ = arrays["fitted_mask"].astype(bool)
    if len(model.fitted_mask_) != len(index.paragraphs):
        raise ModelFormatError(f"{directory}: fitted_mask has {len(model.fitted_mask_)} rows, index {len(index.paragraphs)}")
    model._fit_labels = arrays["labels"].astype(np.int64)
    model.centroids_ = arrays["centroids"].astype(np.float32)
    model.thresholds_ = arrays["thresholds"].astype(np.float32)
    model._embedding_2d = arrays.get("embedding_2d")
    model.params_ = document["params"]
    model.message_ = document["message"]
    model.n_topics_ = int(document["n_topics"])
    model.raw_outlier_share_ = document.get("raw_outlier_share")
    model._custom_labels = {int(k): v for k, v in document["custom_labels"].items()}
    model._keywords = {int(t): [(w, float(s)) for w, s in pairs] for t, pairs in document["keywords"].items()}
    if document.get("stopwords_info") is not None:
        model.stopwords_info_ = document["stopwords_info"]
    model._tokens = None
    model._tokenizer = None
    model._spread_labels()
    return model

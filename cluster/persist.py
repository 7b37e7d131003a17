"""Saving and loading a fitted topic model: JSON + .npy, never pickle.

Layout (``<gen>`` is one save's generation)::

    DIR/topic_model.json          # parameters, keywords, labels, the index it belongs to, its files
    DIR/labels-<gen>.npy          # topic of each fitted paragraph (int64)
    DIR/fitted_mask-<gen>.npy     # which index rows were fitted (bool)
    DIR/centroids-<gen>.npy       # unit topic centres (float32)
    DIR/thresholds-<gen>.npy      # per-topic outlier thresholds (float32)
    DIR/embedding_2d-<gen>.npy    # map coordinates

Saved like the index: new files (created exclusively, so never through a
symlink), then ``topic_model.json`` swapped in one atomic rename, then the
previous generation's files removed, all under the folder's writer lock. A
save killed midway leaves the previous model whole. Loading checks every
key, type, file name and array shape before use (:class:`ModelFormatError`).

The JSON records a fingerprint of the index (SHA-256 over paragraph ids,
text hashes and vectors) and, when given, the index directory and the
SHA-256 of its manifest. Loading against another index is refused, except
with ``prefix=True`` (:func:`cluster.tracking.load_for_update`): an index
that only grew since, whose first rows have the recorded fingerprint.

Optional since the first FORMAT_VERSION 2 files (older files load without
them): ``history``, one entry per fit, update and refit
(:mod:`cluster.tracking`); a model saved without one gets a "fit" entry.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cluster.errors import IndexMismatchError, ModelFormatError
from embed.locking import writer_lock
from embed.storage import check_target, create_exclusive, manifest_digest, new_generation, plain_name, write_atomic

if TYPE_CHECKING:
    from cluster.topics import TopicModel

__all__ = ["save_model", "load_model", "index_fingerprint"]

logger = logging.getLogger(__name__)

FORMAT = "paratopic-topics"
FORMAT_VERSION = 2  # 1: fixed file names, no generations (still read)
MODEL_FILE = "topic_model.json"
_ARRAYS = ("labels", "fitted_mask", "centroids", "thresholds")
_ORPHAN = re.compile(r"^(?:labels|fitted_mask|centroids|thresholds|embedding_2d)-[0-9a-f]{12}\.npy$")
_TEMP = re.compile(r"^\.topic_model\.json\.[A-Za-z0-9_]+\.tmp$")
_INIT_PARAMS = (
    "n_neighbors", "n_components", "min_cluster_size", "min_samples", "cluster_selection_method",
    "include_flagged", "outlier_threshold", "n_topics", "language", "n_keywords", "diversity", "random_state",
    "article_context",
)


def index_fingerprint(index: Any) -> str:
    """SHA-256 over an index's paragraph ids, text hashes and vectors."""
    digest = hashlib.sha256()
    table = index.paragraphs
    digest.update("\n".join(table["id"].astype(str)).encode("utf-8"))
    digest.update("\n".join(table["text_hash"].astype(str)).encode("utf-8"))
    digest.update(np.ascontiguousarray(index.vectors, dtype=np.float32).tobytes())
    return digest.hexdigest()


def save_model(model: TopicModel, directory: Path, *, index_dir: str | Path | None = None) -> Path:
    """Write ``model`` to ``directory`` (created if needed) atomically. Returns it."""
    arrays = {
        "labels": np.asarray(model._fit_labels, dtype=np.int64),
        "fitted_mask": np.asarray(model.fitted_mask_, dtype=bool),
        "centroids": np.asarray(model.centroids_, dtype=np.float32),
        "thresholds": np.asarray(model.thresholds_, dtype=np.float32),
    }
    if model._embedding_2d is not None:
        arrays["embedding_2d"] = np.asarray(model._embedding_2d, dtype=np.float64)
    recorded_dir = Path(index_dir).resolve() if index_dir is not None else getattr(model, "index_dir_", None)
    if not getattr(model, "history_", None):
        from cluster.tracking import history_entry

        model.history_ = [history_entry(model, "fit")]
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
        "phrase_labels": {str(t): v for t, v in getattr(model, "_phrase_labels", {}).items()},
        "stopwords_info": getattr(model, "stopwords_info_", None),
        "history": model.history_,
        "index": {
            "fingerprint": index_fingerprint(model.index),
            "n_paragraphs": len(model.index.paragraphs),
            "directory": str(recorded_dir) if recorded_dir is not None else None,
            "manifest_sha256": manifest_digest(Path(recorded_dir)) if recorded_dir is not None else None,
        },
    }
    check_target(directory, ModelFormatError, marker=MODEL_FILE)
    with writer_lock(directory):
        check_target(directory, ModelFormatError, marker=MODEL_FILE)
        previous = _previous_files(directory)
        gen = new_generation()
        files = {}
        for name, array in arrays.items():
            files[name] = f"{name}-{gen}.npy"
            with create_exclusive(directory / files[name]) as handle:
                np.save(handle, array, allow_pickle=False)
        document.update(generation=gen, files=files, arrays=sorted(arrays))
        data = json.dumps(document, indent=2, ensure_ascii=False, default=str).encode("utf-8")
        write_atomic(directory / MODEL_FILE, data)
        for path in directory.iterdir():
            if path.name in files.values() or path.is_symlink() or not path.is_file():
                continue
            if path.name in previous or _ORPHAN.match(path.name) or _TEMP.match(path.name):
                path.unlink(missing_ok=True)
    logger.info("saved topic model (%d topics) to %s", model.n_topics_, directory)
    return directory


def _previous_files(directory: Path) -> set[str]:
    """File names the model now in ``directory`` uses (nothing if there is none, or it is unreadable)."""
    try:
        document = json.loads((directory / MODEL_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return set()
    if not isinstance(document, dict):
        return set()
    if document.get("format_version") == 1:
        return {f"{name}.npy" for name in (*_ARRAYS, "embedding_2d")}
    files = document.get("files")
    return {v for v in files.values() if isinstance(v, str)} if isinstance(files, dict) else set()


def _check_document(path: Path, document: object) -> dict[str, Any]:
    """The saved JSON, after checking the keys and types the loader uses."""
    if not isinstance(document, dict):
        raise ModelFormatError(f"{path}: holds {type(document).__name__}, expected a JSON object")
    if document.get("format") != FORMAT or document.get("format_version") not in (1, FORMAT_VERSION):
        raise ModelFormatError(
            f"{path}: format {document.get('format')!r} version {document.get('format_version')!r}; "
            f"expected {FORMAT!r} version {FORMAT_VERSION}"
        )
    expected = {
        "init_params": dict, "params": dict, "message": str, "n_topics": int, "custom_labels": dict,
        "keywords": dict, "index": dict, "arrays": list,
    }
    for key, kind in expected.items():
        if not isinstance(document.get(key), kind) or isinstance(document.get(key), bool):
            found = type(document.get(key)).__name__ if key in document else "missing"
            raise ModelFormatError(f"{path}: {key!r} is {found}, expected {kind.__name__}")
    if not isinstance(document["index"].get("fingerprint"), str):
        raise ModelFormatError(f"{path}: 'index' has no 'fingerprint' (str)")
    n_topics = document["n_topics"]
    for label, pairs in document["keywords"].items():
        if not (str(label).lstrip("-").isdigit() and -1 <= int(label) < n_topics) or not isinstance(pairs, list):
            raise ModelFormatError(f"{path}: keywords of topic {label!r}; expected topic ids 0..{n_topics - 1}")
        for pair in pairs:
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)
                    and isinstance(pair[1], (int, float))):
                raise ModelFormatError(f"{path}: keyword entry {pair!r} of topic {label}; expected [word, weight]")
    for label in document["custom_labels"]:
        if not (str(label).lstrip("-").isdigit() and int(label) < n_topics):
            raise ModelFormatError(f"{path}: custom label for topic {label!r}; expected topic ids 0..{n_topics - 1}")
    unknown = set(document["init_params"]) - set(_INIT_PARAMS)
    if unknown:
        raise ModelFormatError(f"{path}: unknown parameters {sorted(unknown)}; expected some of {list(_INIT_PARAMS)}")
    return document


def _phrase_labels(saved: object, n_topics: int) -> dict[int, str]:
    """The saved phrase labels; none (keyword labels instead) for models saved
    before there were phrase labels or with an unusable entry."""
    if not isinstance(saved, dict):
        return {}
    out = {}
    for topic, label in saved.items():
        if str(topic).isdigit() and int(topic) < n_topics and isinstance(label, str) and label.strip():
            out[int(topic)] = label
        else:
            logger.warning("ignoring saved phrase label %r of topic %r", label, topic)
    return out


def _check_arrays(directory: Path, arrays: dict[str, np.ndarray], n_rows: int, n_topics: int) -> None:
    mask, labels = arrays["fitted_mask"], arrays["labels"]
    problems = []
    if mask.dtype != bool or mask.shape != (n_rows,):
        problems.append(f"fitted_mask is {mask.dtype} {mask.shape}, expected bool ({n_rows},)")
    elif labels.ndim != 1 or len(labels) != int(mask.sum()):
        problems.append(f"labels has shape {labels.shape}, expected ({int(mask.sum())},)")
    elif len(labels) and (labels.min() < -1 or labels.max() >= n_topics):
        problems.append(f"labels run from {labels.min()} to {labels.max()}, expected -1..{n_topics - 1}")
    if arrays["centroids"].ndim != 2 or len(arrays["centroids"]) != n_topics:
        problems.append(f"centroids has shape {arrays['centroids'].shape}, expected ({n_topics}, dim)")
    if arrays["thresholds"].shape != (n_topics,):
        problems.append(f"thresholds has shape {arrays['thresholds'].shape}, expected ({n_topics},)")
    if "embedding_2d" in arrays and arrays["embedding_2d"].shape != (n_rows, 2):
        problems.append(f"embedding_2d has shape {arrays['embedding_2d'].shape}, expected ({n_rows}, 2)")
    if problems:
        raise ModelFormatError(f"{directory}: {'; '.join(problems)}; refit the topics")


def _history(path: Path, saved: object, n_topics: int) -> list[dict[str, Any]]:
    """The saved history, every entry's keys and types checked; [] when absent (older files)."""
    from cluster.tracking import HISTORY_EVENTS

    if saved is None:
        return []
    if not isinstance(saved, list):
        raise ModelFormatError(f"{path}: 'history' is {type(saved).__name__}, expected a list")

    def is_int(value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    for i, entry in enumerate(saved):
        where = f"{path}: history entry {i}"
        if not isinstance(entry, dict) or entry.get("event") not in HISTORY_EVENTS:
            raise ModelFormatError(f"{where} is {entry!r:.80}; expected an object with event in {HISTORY_EVENTS}")
        for key in ("at", "date"):
            if not isinstance(entry.get(key), (str, type(None))):
                raise ModelFormatError(f"{where}: {key!r} is {entry.get(key)!r}, expected text or null")
        if not (is_int(entry.get("n_paragraphs")) and is_int(entry.get("n_topics"))):
            raise ModelFormatError(f"{where}: n_paragraphs/n_topics are {entry.get('n_paragraphs')!r}/{entry.get('n_topics')!r}, expected integers")
        topics = entry.get("topics")
        if not isinstance(topics, dict) or not all(
            str(t).isdigit() and isinstance(v, dict) and is_int(v.get("size")) and isinstance(v.get("keywords"), list)
            and all(isinstance(w, str) for w in v["keywords"]) for t, v in topics.items()
        ):
            raise ModelFormatError(f"{where}: 'topics' must map topic ids to {{size: int, keywords: [str]}}")
        if not (isinstance(entry.get("new_topics", []), list) and all(is_int(t) for t in entry.get("new_topics", []))
                and isinstance(entry.get("notes", []), list) and all(isinstance(n, str) for n in entry.get("notes", []))):
            raise ModelFormatError(f"{where}: 'new_topics' must be a list of ids and 'notes' a list of text")
    if saved and saved[-1]["n_topics"] != n_topics:
        raise ModelFormatError(f"{path}: the last history entry has {saved[-1]['n_topics']} topics, the model {n_topics}")
    return saved


def read_document(path: Path, check: Callable[[Path, object], dict[str, Any]]) -> dict[str, Any]:
    """A saved model's JSON document, validated by ``check``; unreadable JSON is a :class:`ModelFormatError`
    naming the file (shared by topic models and stories)."""
    try:
        return check(path, json.loads(path.read_text("utf-8")))
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, ModelFormatError):
            raise
        raise ModelFormatError(f"{path}: corrupted ({type(exc).__name__}: {exc})") from exc


def load_model(cls: type[TopicModel], directory: Path, index: Any = None, *, prefix: bool = False) -> TopicModel:
    """Read a model saved by :func:`save_model` and attach its index. With
    ``prefix`` the index may have grown since: the model is attached to its
    first rows (:class:`cluster.tracking.IndexRows`) when those are the rows it
    was fitted on."""
    from embed import ParagraphIndex

    path = directory / MODEL_FILE
    if not path.exists():
        raise ModelFormatError(f"{directory}: not a saved topic model (no {MODEL_FILE})")
    document = read_document(path, _check_document)
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
    n_recorded = recorded.get("n_paragraphs")
    if (prefix and fingerprint != recorded["fingerprint"] and isinstance(n_recorded, int)
            and 0 < n_recorded < len(index.paragraphs)):
        from cluster.tracking import IndexRows

        rows = IndexRows(index, n_recorded)
        if index_fingerprint(rows) != recorded["fingerprint"]:
            raise IndexMismatchError(
                f"{directory}: the index's first {n_recorded} paragraphs are not the ones this topic model was fitted "
                f"on (ids, texts or vectors differ): the index was rebuilt or changed, not only extended; refit the topics"
            )
        index, fingerprint = rows, recorded["fingerprint"]
    if fingerprint != recorded["fingerprint"]:
        raise IndexMismatchError(
            f"{directory}: this topic model was fitted on another index ({recorded['n_paragraphs']} paragraphs, "
            f"fingerprint {recorded['fingerprint'][:12]}, saved from {recorded.get('directory') or 'an unsaved index'}); "
            f"the index given has {len(index.paragraphs)} paragraphs, fingerprint {fingerprint[:12]}"
            + (f" ({index_dir})" if index_dir else "")
        )
    arrays = {}
    files = document.get("files") if document["format_version"] > 1 else {n: f"{n}.npy" for n in document["arrays"]}
    if not isinstance(files, dict):
        raise ModelFormatError(f"{path}: 'files' is {type(files).__name__}, expected an object")
    for name in [*_ARRAYS, *(["embedding_2d"] if "embedding_2d" in document["arrays"] else [])]:
        file = plain_name(directory, files.get(name), f"{MODEL_FILE}'s {name!r} entry", ModelFormatError)
        if not file.is_file():
            raise ModelFormatError(f"{file}: missing; the topic model directory is incomplete")
        try:
            arrays[name] = np.load(file, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ModelFormatError(f"{file}: unreadable ({exc})") from exc
    _check_arrays(directory, arrays, len(index.paragraphs), int(document["n_topics"]))
    init = dict(document["init_params"])
    model = cls(**init, stopwords=document.get("extra_stopwords") or None)
    model.index = index
    model.index_dir_ = index_dir or (Path(recorded["directory"]) if recorded.get("directory") else None)
    model.fitted_mask_ = arrays["fitted_mask"].astype(bool)
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
    model._phrase_labels = _phrase_labels(document.get("phrase_labels"), model.n_topics_)
    model.history_ = _history(path, document.get("history"), model.n_topics_)
    if document.get("stopwords_info") is not None:
        model.stopwords_info_ = document["stopwords_info"]
    model._tokens = None
    model._tokenizer = None
    model._spread_labels()
    return model

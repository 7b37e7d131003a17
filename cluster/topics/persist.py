"""Saving and loading a fitted topic model: JSON + .npy, never pickle.

Layout (``<gen>`` is one save's generation)::

    DIR/topic_model.json          # parameters, keywords, labels, the index it belongs to, its files
    DIR/labels-<gen>.npy          # topic of each fitted paragraph (int64)
    DIR/fitted_mask-<gen>.npy     # which index rows were fitted (bool)
    DIR/centroids-<gen>.npy       # unit topic centres (float32)
    DIR/thresholds-<gen>.npy      # per-topic outlier thresholds (float32)
    DIR/embedding_2d-<gen>.npy    # map coordinates

Saved like the index (:mod:`embed.store.storage`): new files (created
exclusively, so never through a symlink), then ``topic_model.json`` swapped
in one atomic rename, all under the folder's writer lock. The generation it
replaced is kept for readers that opened it, the one before is removed, so a
reader never fails because of a writer; a reader slower than two saves sees
``topic_model.json`` changed and reads again. A save killed midway leaves the
previous model whole, and a folder holding only what an interrupted first
save left (``<array>-<12 hex>.npy``, ``.topic_model.json.*.tmp``, the lock)
is cleaned by the next save. A write error is one-line
:class:`~embed.errors.SaveError`. Loading refuses a symlinked folder or file
and checks every key, type, bound, file name and array shape before use
(:class:`ModelFormatError`); the loaded model records its ``generation_``.

The JSON records a fingerprint of the index (SHA-256 over paragraph ids, text
hashes and vectors; also its files' checksums, so that a load skips the hashing
for the saved rows), and, when given, the index directory and its manifest's SHA-256. Loading against another index is refused, except
with ``prefix=True`` (:func:`cluster.topics.tracking.load_for_update`): an index
that only grew since, whose first rows have the recorded fingerprint.

Optional since the first FORMAT_VERSION 2 files (older files load without
them): ``history``, one entry per fit, update and refit
(:mod:`cluster.topics.tracking`); a model saved without one gets a "fit" entry.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cluster.errors import IndexMismatchError, ModelFormatError
from cluster.topics.history import HISTORY_EVENTS, history_entry
from cluster.topics.state import FittedTopics, IndexRows
from embed.store.locking import writer_lock
from embed.store.storage import (
    READ_ATTEMPTS,
    check_target,
    create_exclusive,
    manifest_digest,
    new_generation,
    open_regular,
    parse_json,
    plain_name,
    read_npy,
    read_regular,
    remove_unneeded,
    save_failure,
    write_atomic,
)

__all__ = ["save_model", "load_model", "index_fingerprint", "SavedTopics", "INIT_PARAMS"]

logger = logging.getLogger(__name__)

FORMAT = "paratopic-topics"
FORMAT_VERSION = 2  # 1: fixed file names, no generations (still read)
MODEL_FILE = "topic_model.json"
_ARRAYS = ("labels", "fitted_mask", "centroids", "thresholds")
_ORPHAN = re.compile(r"^(?:labels|fitted_mask|centroids|thresholds|embedding_2d)-[0-9a-f]{12}\.npy$")
_TEMP = re.compile(r"^\.topic_model\.json\.[A-Za-z0-9_]+\.tmp$")
#: What an interrupted save of a topic model can leave in a folder without topic_model.json.
_OWN = re.compile(rf"{_ORPHAN.pattern}|{_TEMP.pattern}")
_V1_FILES = re.compile(r"^(?:labels|fitted_mask|centroids|thresholds|embedding_2d)\.npy$")
#: Bounds on what a saved model may hold (checked before use).
MAX_MODEL_BYTES = 256 << 20
MAX_TOPICS = 1_000_000
MAX_LABEL_CHARS = 10_000
#: The constructor parameters a saved model records (``umap_model``/``hdbscan_model`` objects are not saved).
INIT_PARAMS = (
    "n_neighbors", "n_components", "min_cluster_size", "min_samples", "cluster_selection_method",
    "include_flagged", "outlier_threshold", "n_topics", "language", "n_keywords", "diversity", "random_state",
    "article_context", "max_topic_share", "n_layouts",
)


def index_fingerprint(index: Any) -> str:
    """SHA-256 over an index's paragraph ids, text hashes and vectors."""
    digest = hashlib.sha256()
    table = index.paragraphs
    for column in ("id", "text_hash"):
        values = table[column].tolist()  # one conversion, not a loop over Arrow values; same bytes as before
        digest.update("\n".join(v if isinstance(v, str) else str(v) for v in values).encode("utf-8"))
    digest.update(memoryview(np.ascontiguousarray(index.vectors, dtype=np.float32)).cast("B"))
    return digest.hexdigest()


def _stored_digest(index: Any) -> str | None:
    """The index's :meth:`~embed.store.index.ParagraphIndex.stored_digest` (None for rows that have none)."""
    method = getattr(index, "stored_digest", None)
    return method() if callable(method) else None


def _fingerprint_of(index: Any, recorded: dict[str, Any]) -> str:
    """``index``'s fingerprint; the recorded one without hashing the data when the model recorded the checksums
    of the saved files it was fitted on (``data_digest``) and ``index`` holds those files' rows unchanged."""
    stored = _stored_digest(index)
    if stored is not None and recorded.get("data_digest") == stored:
        return str(recorded["fingerprint"])
    return index_fingerprint(index)


@dataclass
class SavedTopics:
    """A saved topic model as read by :func:`load_model`: the constructor parameters and the fitted
    attributes (``index``, ``fit_labels_``, ``centroids_``, ...), for ``TopicModel.load`` to build the model."""

    init_params: dict[str, Any]
    state: dict[str, Any]


def save_model(model: FittedTopics, directory: Path, *, index_dir: str | Path | None = None) -> Path:
    """Write ``model``'s fitted state to ``directory`` (created if needed) atomically. Returns it."""
    arrays = {
        "labels": np.asarray(model.fit_labels_, dtype=np.int64),
        "fitted_mask": np.asarray(model.fitted_mask_, dtype=bool),
        "centroids": np.asarray(model.centroids_, dtype=np.float32),
        "thresholds": np.asarray(model.thresholds_, dtype=np.float32),
    }
    if model.coordinates_ is not None:
        arrays["embedding_2d"] = np.asarray(model.coordinates_, dtype=np.float64)
    recorded_dir = Path(index_dir).resolve() if index_dir is not None else getattr(model, "index_dir_", None)
    if not getattr(model, "history_", None):
        model.history_ = [history_entry(model, "fit")]
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "init_params": {name: getattr(model, name) for name in INIT_PARAMS},
        "extra_stopwords": sorted(getattr(model, "stopwords", None) or []),
        "params": model.params_,
        "message": model.message_,
        "n_topics": model.n_topics_,
        "raw_outlier_share": getattr(model, "raw_outlier_share_", None),
        "custom_labels": {str(k): v for k, v in model.custom_labels_.items()},
        "keywords": {str(t): [[w, float(s)] for w, s in pairs] for t, pairs in model.keywords_.items()},
        "phrase_labels": {str(t): v for t, v in model.phrase_labels_.items()},
        "stopwords_info": getattr(model, "stopwords_info_", None),
        "history": model.history_,
        "index": {
            "fingerprint": index_fingerprint(model.index),
            "data_digest": _stored_digest(model.index),
            "n_paragraphs": len(model.index.paragraphs),
            "directory": str(recorded_dir) if recorded_dir is not None else None,
            "manifest_sha256": manifest_digest(Path(recorded_dir)) if recorded_dir is not None else None,
        },
    }
    check_target(directory, ModelFormatError, marker=MODEL_FILE, ours=_OWN)
    with writer_lock(directory, error=ModelFormatError):
        check_target(directory, ModelFormatError, marker=MODEL_FILE, ours=_OWN)
        previous = _previous_files(directory)
        gen = new_generation()
        files = {name: f"{name}-{gen}.npy" for name in arrays}
        created = []
        try:
            for name, array in arrays.items():
                with create_exclusive(directory / files[name]) as handle:
                    created.append(directory / files[name])
                    np.save(handle, array, allow_pickle=False)
                    handle.flush()
                    os.fsync(handle.fileno())
            document.update(generation=gen, files=files, arrays=sorted(arrays))
            data = json.dumps(document, indent=2, ensure_ascii=False, default=str).encode("utf-8")
            write_atomic(directory / MODEL_FILE, data)
        except BaseException as exc:
            if gen not in (_file_text(directory / MODEL_FILE) or ""):
                for path in created:  # the new generation did not make it (topic_model.json names the old one)
                    path.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise save_failure(directory, exc, "the topic model") from exc
            raise
        keep = set(files.values()) | previous
        remove_unneeded(directory, keep, _DELETABLE)
    model.generation_ = gen
    logger.info("saved topic model (%d topics) to %s", model.n_topics_, directory)
    return directory


_DELETABLE = re.compile(rf"{_ORPHAN.pattern}|{_V1_FILES.pattern}")


def _previous_files(directory: Path) -> set[str]:
    """File names the model now in ``directory`` uses (nothing if there is none, or it is unreadable)."""
    try:
        document = parse_json(read_regular(directory / MODEL_FILE, ModelFormatError, MODEL_FILE, MAX_MODEL_BYTES),
                              directory / MODEL_FILE, ModelFormatError, MODEL_FILE)
    except (OSError, ModelFormatError):
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
    recorded = document["index"]
    if not isinstance(recorded.get("fingerprint"), str):
        raise ModelFormatError(f"{path}: 'index' has no 'fingerprint' (str)")
    if not _is_int(recorded.get("n_paragraphs", 0), 0, 1 << 40) or not all(
        isinstance(recorded.get(k), (str, type(None))) for k in ("directory", "manifest_sha256")
    ):
        raise ModelFormatError(f"{path}: 'index' needs 'n_paragraphs' (an integer >= 0) and 'directory' (text or null)")
    n_topics = document["n_topics"]
    if not 0 <= n_topics <= MAX_TOPICS:
        raise ModelFormatError(f"{path}: 'n_topics' is {n_topics}, expected 0..{MAX_TOPICS}")
    for label, pairs in document["keywords"].items():
        if not (_topic_id(label) and -1 <= int(label) < n_topics) or not isinstance(pairs, list):
            raise ModelFormatError(f"{path}: keywords of topic {label!r:.40}; expected topic ids 0..{n_topics - 1}")
        for pair in pairs:
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)
                    and len(pair[0]) <= MAX_LABEL_CHARS and isinstance(pair[1], (int, float))
                    and not isinstance(pair[1], bool) and math.isfinite(pair[1])):
                raise ModelFormatError(f"{path}: keyword entry {pair!r:.80} of topic {label}; expected [word, weight]")
    for label, text in document["custom_labels"].items():
        if not (_topic_id(label) and -1 <= int(label) < n_topics):
            raise ModelFormatError(f"{path}: custom label for topic {label!r:.40}; expected topic ids 0..{n_topics - 1}")
        if not isinstance(text, str) or len(text) > MAX_LABEL_CHARS:
            raise ModelFormatError(
                f"{path}: 'custom_labels' of topic {label} is {text!r:.40}; expected text of at most {MAX_LABEL_CHARS} characters"
            )
    unknown = set(document["init_params"]) - set(INIT_PARAMS)
    if unknown:
        raise ModelFormatError(f"{path}: unknown parameters {sorted(unknown)}; expected some of {list(INIT_PARAMS)}")
    for name, value in document["init_params"].items():
        kinds = _PARAM_TYPES[name]
        bad = not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)
        if not bad and isinstance(value, (int, float)) and not isinstance(value, bool):
            bad = not math.isfinite(value) or abs(value) > 1 << 31
        if bad:
            expected = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
            raise ModelFormatError(f"{path}: init_params {name!r} is {value!r:.40}; expected {expected}")
    stopwords = document.get("extra_stopwords", [])
    if not isinstance(stopwords, list) or not all(isinstance(w, str) for w in stopwords):
        raise ModelFormatError(f"{path}: 'extra_stopwords' must be a list of text")
    share = document.get("raw_outlier_share")
    if share is not None and (isinstance(share, bool) or not isinstance(share, (int, float))):
        raise ModelFormatError(f"{path}: 'raw_outlier_share' is {share!r:.40}; expected a number or null")
    if not isinstance(document.get("stopwords_info"), (dict, type(None))):
        raise ModelFormatError(f"{path}: 'stopwords_info' must be an object or null")
    arrays = document["arrays"]
    if not all(isinstance(a, str) for a in arrays) or not set(_ARRAYS) <= set(arrays) <= {*_ARRAYS, "embedding_2d"}:
        raise ModelFormatError(f"{path}: 'arrays' is {arrays!r:.80}; expected {[*_ARRAYS, 'embedding_2d']}")
    return document


def _is_int(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _topic_id(label: object) -> bool:
    text = str(label)
    return len(text) <= 12 and text.lstrip("-").isdigit() and text.count("-") <= 1


_PARAM_TYPES: dict[str, tuple[type, ...]] = {
    "n_neighbors": (int, type(None)), "n_components": (int, type(None)), "min_cluster_size": (int, type(None)),
    "min_samples": (int, type(None)), "cluster_selection_method": (str,), "include_flagged": (bool,),
    "outlier_threshold": (int, float, str, type(None)), "n_topics": (int, type(None)), "language": (str,),
    "n_keywords": (int,), "diversity": (int, float), "random_state": (int, type(None)), "article_context": (int, float),
    "max_topic_share": (int, float, type(None)), "n_layouts": (int,),
}


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


def read_document(path: Path, check: Callable[[Path, object], dict[str, Any]], limit: int = MAX_MODEL_BYTES) -> dict[str, Any]:
    """A saved model's JSON document, validated by ``check`` (shared by topic models and stories).

    The file must be a regular file (not a symlink, FIFO or device) of at
    most ``limit`` bytes, nested at most :data:`embed.store.storage.MAX_DEPTH`
    deep; anything else is a :class:`ModelFormatError` naming it."""
    return _document_and_digest(path, check, limit)[0]


def _document_and_digest(path: Path, check: Callable[[Path, object], dict[str, Any]],
                         limit: int = MAX_MODEL_BYTES) -> tuple[dict[str, Any], str]:
    """:func:`read_document` and the SHA-256 of the bytes it parsed."""
    try:
        data = read_regular(path, ModelFormatError, f"a saved {path.name}", limit)
    except FileNotFoundError:
        raise ModelFormatError(f"{path}: missing") from None
    return check(path, parse_json(data, path, ModelFormatError, path.name)), hashlib.sha256(data).hexdigest()


def _file_text(path: Path) -> str | None:
    try:
        return path.read_text("utf-8", errors="replace")
    except OSError:
        return None


def _file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def refuse_symlinked_folder(directory: Path, what: str) -> None:
    """A saved model's folder must be a real folder, not a symlink to somewhere else."""
    if directory.is_symlink():
        raise ModelFormatError(f"{directory}: is a symbolic link; {what} must be a real folder inside the index")


def load_model(directory: Path, index: Any = None, *, prefix: bool = False) -> SavedTopics:
    """Read a model saved by :func:`save_model`, with its index: what ``TopicModel.load`` builds the model
    from. With ``prefix`` the index may have grown since: the model covers its first rows
    (:class:`cluster.topics.state.IndexRows`) when those are the rows it was fitted on."""
    from embed.store.index import ParagraphIndex

    path = directory / MODEL_FILE
    refuse_symlinked_folder(directory, "a topic model folder")
    if not os.path.lexists(path):
        raise ModelFormatError(f"{directory}: not a saved topic model (no {MODEL_FILE})")
    document, digest = _document_and_digest(path, _check_document)
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
    fingerprint = _fingerprint_of(index, recorded)
    n_recorded = recorded.get("n_paragraphs")
    if (prefix and fingerprint != recorded["fingerprint"] and isinstance(n_recorded, int)
            and 0 < n_recorded < len(index.paragraphs)):
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
    for attempt in range(1, READ_ATTEMPTS + 1):
        try:
            arrays = _read_arrays(directory, path, document)
            _check_arrays(directory, arrays, len(index.paragraphs), int(document["n_topics"]))
            break
        except ModelFormatError:
            now = _file_digest(path)
            if attempt == READ_ATTEMPTS or now in (digest, None):
                raise
            logger.info("%s: a writer saved a new model while it was read; reading that one", directory)
            fresh, digest = _document_and_digest(path, _check_document)
            if fresh["index"]["fingerprint"] != document["index"]["fingerprint"]:
                raise IndexMismatchError(f"{directory}: was refitted on another index while it was read; load it again") from None
            document = fresh
    n_topics = int(document["n_topics"])
    state: dict[str, Any] = {
        "index": index,
        "index_dir_": index_dir or (Path(recorded["directory"]) if recorded.get("directory") else None),
        "fitted_mask_": arrays["fitted_mask"].astype(bool),
        "fit_labels_": arrays["labels"].astype(np.int64),
        "centroids_": arrays["centroids"].astype(np.float32),
        "thresholds_": arrays["thresholds"].astype(np.float32),
        "coordinates_": arrays.get("embedding_2d"),
        "params_": document["params"],
        "message_": document["message"],
        "n_topics_": n_topics,
        "raw_outlier_share_": document.get("raw_outlier_share"),
        "custom_labels_": {int(k): v for k, v in document["custom_labels"].items()},
        "keywords_": {int(t): [(w, float(s)) for w, s in pairs] for t, pairs in document["keywords"].items()},
        "phrase_labels_": _phrase_labels(document.get("phrase_labels"), n_topics),
        "history_": _history(path, document.get("history"), n_topics),
        "generation_": document.get("generation"),
    }
    if document.get("stopwords_info") is not None:
        state["stopwords_info_"] = document["stopwords_info"]
    init = {**document["init_params"], "stopwords": document.get("extra_stopwords") or None}
    return SavedTopics(init_params=init, state=state)


def _read_arrays(directory: Path, path: Path, document: dict[str, Any]) -> dict[str, np.ndarray]:
    """The arrays ``document`` names, each a regular file inside ``directory`` with a header that fits its size."""
    files = document.get("files") if document["format_version"] > 1 else {n: f"{n}.npy" for n in document["arrays"]}
    if not isinstance(files, dict):
        raise ModelFormatError(f"{path}: 'files' is {type(files).__name__}, expected an object")
    arrays = {}
    for name in [*_ARRAYS, *(["embedding_2d"] if "embedding_2d" in document["arrays"] else [])]:
        file = plain_name(directory, files.get(name), f"{MODEL_FILE}'s {name!r} entry", ModelFormatError)
        try:
            with open_regular(file, ModelFormatError, "a topic model array") as handle:
                arrays[name] = read_npy(handle, file, ModelFormatError)
        except FileNotFoundError:
            raise ModelFormatError(f"{file}: missing; the topic model directory is incomplete") from None
        except OSError as exc:
            raise ModelFormatError(f"{file}: unreadable ({exc})") from None
    return arrays

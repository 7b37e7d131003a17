"""Saving and loading stories: one JSON file, written atomically, checked on load.

Layout::

    DIR/stories.json   # parameters, language, next story id, each story's topic and central
                       # article, every article's story, and the index it was saved with

Written through a temporary file and ``os.replace`` under the folder's
writer lock (:func:`embed.store.storage.write_atomic`), so a save killed midway
leaves the previous file whole and a reader always reads one whole file
(it opens it once). Temporary files of killed saves (``.stories.json.*.tmp``)
are removed by the next save, and a folder holding only those (and the
lock) is written into. A write error is a one-line
:class:`~embed.errors.SaveError`. A symlinked folder or file is refused;
``next_story_id`` is at most the number of articles (each story ever made
started with at least one article, and articles are never dropped). Stories hold article ids, not row numbers:
they load against the index they were fitted on *or that index extended*
(``ParagraphIndex.add``); :meth:`cluster.stories.model.StoryModel.update` then
takes in the new articles. An index lacking a saved article is refused
(:class:`~cluster.errors.IndexMismatchError`); every key, type and id is
checked before use (:class:`~cluster.errors.ModelFormatError`).
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cluster.errors import IndexMismatchError, ModelFormatError
from cluster.topics.persist import read_document, refuse_symlinked_folder
from embed.store.locking import writer_lock
from embed.store.storage import check_target, temp_pattern, write_atomic

__all__ = ["save_stories", "load_stories", "paragraph_stories", "SavedStories", "STORIES_FILE"]

logger = logging.getLogger(__name__)

FORMAT = "paratopic-stories"
FORMAT_VERSION = 1
STORIES_FILE = "stories.json"
#: Bounds on a saved stories file (checked before use).
MAX_STORIES_BYTES = 1 << 30
MAX_ID_CHARS = 10_000
_PARAMS = ("min_similarity", "vector_weight", "fact_weight", "short_allowance", "vector_floor", "time_penalty", "time_grace_days",
           "time_scale_days", "undated_penalty", "background_z", "language")


@dataclass
class SavedStories:
    """Saved stories as read by :func:`load_stories`, for ``StoryModel.load`` to build the model from."""

    path: Path
    params: dict[str, Any]
    index: Any
    index_dir: Path | None
    articles: dict[str, int]
    next_story_id: int
    story_topics: dict[int, int | None]
    central: dict[int, str]
    language: str


def save_stories(model: Any, directory: Path, *, index_dir: Path | None = None) -> Path:
    """Write a fitted :class:`~cluster.stories.model.StoryModel` (its public state: ``article_stories_``,
    ``story_topics_``, ``central_articles()``, ...) to ``directory / stories.json`` (the folder is
    created if needed). Returns the folder."""
    central = model.central_articles()
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "params": {name: getattr(model, name) for name in _PARAMS},
        "language": model.language_,
        "next_story_id": int(model.next_story_id_),
        "stories": {str(s): {"topic": model.story_topics_.get(s), "central": central[s]} for s in sorted(central)},
        "articles": dict(sorted(model.article_stories_.items())),
        "index": {
            "n_paragraphs": len(model.index.paragraphs),
            "directory": str(Path(index_dir).resolve()) if index_dir is not None else None,
        },
    }
    data = json.dumps(document, indent=1, ensure_ascii=False).encode("utf-8")
    ours = temp_pattern(STORIES_FILE)
    check_target(directory, ModelFormatError, marker=STORIES_FILE, ours=ours)
    with writer_lock(directory, error=ModelFormatError):
        check_target(directory, ModelFormatError, marker=STORIES_FILE, ours=ours)
        write_atomic(directory / STORIES_FILE, data)
    logger.info("saved %d stories to %s", model.n_stories_, directory)
    return directory


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_document(path: Path, document: object) -> dict[str, Any]:
    """The saved JSON, after checking every key, type and id the loader uses."""
    if not isinstance(document, dict):
        raise ModelFormatError(f"{path}: holds {type(document).__name__}, expected a JSON object")
    if document.get("format") != FORMAT or document.get("format_version") != FORMAT_VERSION:
        raise ModelFormatError(
            f"{path}: format {document.get('format')!r} version {document.get('format_version')!r}; "
            f"expected {FORMAT!r} version {FORMAT_VERSION}"
        )
    for key, kind in {"params": dict, "language": str, "next_story_id": int, "stories": dict, "articles": dict,
                      "index": dict}.items():
        value = document.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            found = type(value).__name__ if key in document else "missing"
            raise ModelFormatError(f"{path}: {key!r} is {found}, expected {kind.__name__}")
    unknown = set(document["params"]) - set(_PARAMS)
    if unknown:
        raise ModelFormatError(f"{path}: unknown parameters {sorted(unknown)}; expected some of {list(_PARAMS)}")
    for name, value in document["params"].items():
        kind = (str,) if name == "language" else (int, float)
        if not isinstance(value, kind) or isinstance(value, bool) or (
            not isinstance(value, str) and not math.isfinite(value)
        ):
            raise ModelFormatError(f"{path}: parameter {name!r} is {value!r:.40}; expected {'text' if kind == (str,) else 'a number'}")
    if len(document["language"]) > 64:
        raise ModelFormatError(f"{path}: 'language' is {document['language']!r:.40}; expected a language code")
    next_id = document["next_story_id"]
    n_articles = len(document["articles"])
    if not 0 <= next_id <= n_articles:
        raise ModelFormatError(
            f"{path}: 'next_story_id' is {next_id:.3g}; expected 0..{n_articles} (at most one story per saved article)"
            if abs(next_id) > 10**15 else
            f"{path}: 'next_story_id' is {next_id}; expected 0..{n_articles} (at most one story per saved article)"
        )
    for doc_id in document["articles"]:
        if len(doc_id) > MAX_ID_CHARS:
            raise ModelFormatError(f"{path}: article id {doc_id[:40]!r}... is over {MAX_ID_CHARS} characters")
    stories: dict[int, dict[str, Any]] = {}
    for key, entry in document["stories"].items():
        if not (key.isdigit() and len(key) <= 12 and int(key) < next_id) or not isinstance(entry, dict):
            raise ModelFormatError(f"{path}: story {key!r:.40}; expected ids 0..{next_id - 1} with an object each")
        if set(entry) != {"topic", "central"}:
            raise ModelFormatError(f"{path}: story {key} has keys {sorted(entry)!r:.80}; expected 'topic' and 'central'")
        topic, central = entry["topic"], entry["central"]
        if not (topic is None or (_is_int(topic) and 0 <= topic < 1 << 31)) or not isinstance(central, str):
            raise ModelFormatError(f"{path}: story {key}: topic {topic!r} / central {central!r}; "
                                   "expected a topic id or null and an article id")
        stories[int(key)] = entry
    for doc_id, story in document["articles"].items():
        if not _is_int(story) or story not in stories:
            raise ModelFormatError(f"{path}: article {doc_id!r} is in story {story!r}, which the file does not list")
    members = {s: [d for d, t in document["articles"].items() if t == s] for s in stories}
    for story, entry in stories.items():
        if entry["central"] not in members[story]:
            raise ModelFormatError(f"{path}: story {story}'s central article {entry['central']!r} is not one of its articles")
    return document


def load_stories(directory: Path, index: Any = None) -> SavedStories:
    """Read stories saved by :func:`save_stories`, with ``index`` (a ParagraphIndex, its directory,
    or None for the directory recorded at save time)."""
    from embed.store.index import ParagraphIndex

    path = directory / STORIES_FILE
    refuse_symlinked_folder(directory, "a stories folder")
    if not os.path.lexists(path):
        raise ModelFormatError(f"{directory}: not saved stories (no {STORIES_FILE})")
    document = read_document(path, _check_document, MAX_STORIES_BYTES)
    index_dir = None
    if index is None:
        if not document["index"].get("directory"):
            raise IndexMismatchError(f"{directory}: the stories record no index directory; pass StoryModel.load(dir, index)")
        index = document["index"]["directory"]
    if isinstance(index, (str, Path)):
        index_dir = Path(index).resolve()
        index = ParagraphIndex.load(index_dir)
    present = set(map(str, index.column("doc_id")))
    missing = sorted(set(document["articles"]) - present)
    if missing:
        raise IndexMismatchError(
            f"{directory}: {len(missing)} of the {len(document['articles'])} articles in these stories are not in "
            f"the index given (e.g. {missing[:3]}); load them with the index they were fitted on (or it extended)"
        )
    stories = document["stories"]
    return SavedStories(
        path=path, params=dict(document["params"]), index=index, index_dir=index_dir,
        articles=dict(document["articles"]), next_story_id=int(document["next_story_id"]),
        story_topics={int(s): e["topic"] for s, e in stories.items()},
        central={int(s): e["central"] for s, e in stories.items()}, language=document["language"],
    )


def paragraph_stories(saved: SavedStories, doc_ids: Any) -> Any:
    """Each paragraph's saved story (its article's; -1 for an article the stories do not hold) from the
    paragraphs' ``doc_ids``, as a loaded :class:`~cluster.stories.model.StoryModel`'s ``labels_`` gives it,
    without building the model (nor pandas): what grouped search needs, read in milliseconds."""
    import numpy as np

    return np.fromiter((saved.articles.get(str(d), -1) for d in doc_ids), dtype=np.int64, count=len(doc_ids))

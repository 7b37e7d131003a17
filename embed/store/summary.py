"""What ``paratopic info`` shows about a saved index, read from its manifest and a few columns of its paragraph
table with pyarrow alone: no pandas, no ``pyarrow.compute``, no FAISS, no vectors in memory (the files are still checked against the
manifest's checksums). The rows and their values are those of :meth:`embed.store.index.ParagraphIndex.info`
and the boilerplate reasons and date counts ``info`` adds.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from embed.errors import IndexFormatError
from embed.store.rows import one_chunk, truth_mask, valid_mask
from embed.store.storage import read_columns

__all__ = ["index_summary", "info_html"]

#: As ``embed.read.articles.DATE_COLUMN`` and ``UNREAD_DATE_COLUMN`` (that module imports pandas).
DATE_COLUMN, UNREAD_DATE_COLUMN = "date", "date_unread"
_COLUMNS = ["id", "doc_id", "text_hash", "boilerplate", "boilerplate_reason", "duplicate_of", DATE_COLUMN,
            UNREAD_DATE_COLUMN]


def _present(values: list[Any]) -> np.ndarray:
    """True per value that is there (not None; a float NaN counts as missing, as pandas' ``notna``)."""
    return np.array([v is not None and not (isinstance(v, float) and math.isnan(v)) for v in values], dtype=bool)


def index_summary(directory: Path) -> dict[str, str]:
    """Rows of ``paratopic info`` for the index in ``directory`` (name -> shown value).

    Raises :class:`IndexFormatError` as :meth:`ParagraphIndex.load` would for a broken or tampered index."""
    manifest, table = read_columns(directory, _COLUMNS)
    missing = [c for c in ("id", "doc_id", "text_hash", "boilerplate", "duplicate_of") if c not in table.column_names]
    if missing:
        raise IndexFormatError(f"{directory}: files disagree (missing columns {missing}); rebuild the index")
    n = table.num_rows
    boilerplate = truth_mask(one_chunk(table["boilerplate"]))  # null counts as False
    duplicate = valid_mask(one_chunk(table["duplicate_of"]))
    doc_ids = table["doc_id"].to_pylist()
    model = manifest["embedder"]
    rows: dict[str, Any] = {
        "model": model.get("model_id"),
        "dim": manifest["embedder"]["dim"],
        "index_kind": manifest.get("index_kind", manifest.get("requested_kind", "auto")),
        "documents": len(set(doc_ids)),
        "paragraphs": n,
        "boilerplate": int(boilerplate.sum()),
        "duplicates": int(duplicate.sum()),
        "unique_texts": len(set(table["text_hash"].to_pylist())),
        "searchable": int((~(boilerplate | duplicate)).sum()),
        "sources": ", ".join(map(str, manifest.get("sources", []))),
    }
    out = {key: str(value) for key, value in rows.items()}
    if "boilerplate_reason" in table.column_names and n:
        counts = Counter(v for v in table["boilerplate_reason"].to_pylist() if v is not None)  # in first-seen order
        for value, count in sorted(counts.items(), key=lambda e: -e[1]):  # stable: ties keep their first appearance
            out[f"  boilerplate: {value}"] = str(count)
    out.update(_date_rows(table, doc_ids))
    return out


def _date_rows(table: Any, doc_ids: list[Any]) -> dict[str, str]:
    """How many documents (their first paragraph) carry a date, and how many dates could not be read (examples)."""
    if DATE_COLUMN not in table.column_names:
        return {}
    firsts: dict[Any, int] = {}
    for i, doc_id in enumerate(doc_ids):
        firsts.setdefault(doc_id, i)
    first = list(firsts.values())  # each document's first row, in order
    dates = table[DATE_COLUMN].to_pylist()
    dated = _present([dates[i] for i in first])
    rows = {"documents with a date": f"{int(dated.sum())} of {len(first)}"}
    if UNREAD_DATE_COLUMN in table.column_names:
        unread = table[UNREAD_DATE_COLUMN].to_pylist()
        kept = [unread[i] for i in first if _present([unread[i]])[0]]
        if kept:
            examples = ", ".join(repr(str(v)) for v in kept[:3])
            rows["dates not read (left empty)"] = f"{len(kept)}, e.g. {examples}"
    return rows


def info_html(info: dict[str, Any]) -> str:
    """:meth:`ParagraphIndex.info` as an HTML table (the index's ``_repr_html_`` in Jupyter)."""
    import html

    rows = "".join(
        f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>{html.escape(str(v))}</td></tr>"
        for k, v in info.items()
    )
    return f"<table class='paratopic-index'><caption>ParagraphIndex</caption>{rows}</table>"

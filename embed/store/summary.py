"""What ``paratopic info`` shows about a saved index, read from its manifest and a few columns of its paragraph
table with pyarrow alone: no pandas, no FAISS, no vectors in memory (the files are still checked against the
manifest's checksums). The rows and their values are those of :meth:`embed.store.index.ParagraphIndex.info`
and the boilerplate reasons and date counts ``info`` adds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from embed.errors import IndexFormatError
from embed.store.storage import read_columns

__all__ = ["index_summary", "info_html"]

#: As ``embed.read.articles.DATE_COLUMN`` and ``UNREAD_DATE_COLUMN`` (that module imports pandas).
DATE_COLUMN, UNREAD_DATE_COLUMN = "date", "date_unread"
_COLUMNS = ["id", "doc_id", "text_hash", "boilerplate", "boilerplate_reason", "duplicate_of", DATE_COLUMN,
            UNREAD_DATE_COLUMN]


def _present(column: Any) -> np.ndarray:
    """True per value that is there (not null; a float NaN counts as missing, as pandas' ``notna``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    valid = pc.is_valid(column)
    if pa.types.is_floating(column.type):
        valid = pc.and_(valid, pc.invert(pc.is_nan(column)))
    return _numpy(valid).astype(bool)


def _numpy(column: Any, dtype: Any = np.uint8) -> np.ndarray:
    """A (chunked) pyarrow array without nulls as a numpy array of ``dtype``, read from its data buffer: pyarrow's
    own ``to_numpy`` imports pandas."""
    import pyarrow as pa

    array = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    array = array.cast(pa.from_numpy_dtype(np.dtype(dtype)))
    if array.null_count:
        raise ValueError(f"{array.null_count} null values where none were expected")
    if not len(array):
        return np.zeros(0, dtype=dtype)
    return np.frombuffer(array.buffers()[1], dtype=dtype, count=array.offset + len(array))[array.offset:]


def index_summary(directory: Path) -> dict[str, str]:
    """Rows of ``paratopic info`` for the index in ``directory`` (name -> shown value).

    Raises :class:`IndexFormatError` as :meth:`ParagraphIndex.load` would for a broken or tampered index."""
    import pyarrow.compute as pc

    manifest, table = read_columns(directory, _COLUMNS)
    missing = [c for c in ("id", "doc_id", "text_hash", "boilerplate", "duplicate_of") if c not in table.column_names]
    if missing:
        raise IndexFormatError(f"{directory}: files disagree (missing columns {missing}); rebuild the index")
    n = table.num_rows
    flag = table["boilerplate"]  # null counts as False; not pc.fill_null, whose Python scalar imports pandas
    boilerplate = _numpy(pc.and_kleene(flag, pc.is_valid(flag))).astype(bool)
    duplicate = _present(table["duplicate_of"])
    model = manifest["embedder"]
    rows: dict[str, Any] = {
        "model": model.get("model_id"),
        "dim": manifest["embedder"]["dim"],
        "index_kind": manifest.get("index_kind", manifest.get("requested_kind", "auto")),
        "documents": pc.count_distinct(table["doc_id"], mode="all").as_py() if n else 0,
        "paragraphs": n,
        "boilerplate": int(boilerplate.sum()),
        "duplicates": int(duplicate.sum()),
        "unique_texts": pc.count_distinct(table["text_hash"], mode="all").as_py() if n else 0,
        "searchable": int((~(boilerplate | duplicate)).sum()),
        "sources": ", ".join(map(str, manifest.get("sources", []))),
    }
    out = {key: str(value) for key, value in rows.items()}
    if "boilerplate_reason" in table.column_names and n:
        counts = pc.value_counts(table["boilerplate_reason"].drop_null()).to_pylist()
        for entry in sorted(counts, key=lambda e: -e["counts"]):  # stable: ties keep their first appearance
            out[f"  boilerplate: {entry['values']}"] = str(entry["counts"])
    out.update(_date_rows(table))
    return out


def _date_rows(table: Any) -> dict[str, str]:
    """How many documents (their first paragraph) carry a date, and how many dates could not be read (examples)."""
    import pyarrow.compute as pc

    if DATE_COLUMN not in table.column_names:
        return {}
    codes = _numpy(pc.dictionary_encode(table["doc_id"]).combine_chunks().indices, np.int64)
    first = np.sort(np.unique(codes, return_index=True)[1]) if len(codes) else np.zeros(0, dtype=np.int64)
    dated = _present(table[DATE_COLUMN].take(first))
    rows = {"documents with a date": f"{int(dated.sum())} of {len(first)}"}
    if UNREAD_DATE_COLUMN in table.column_names:
        unread = table[UNREAD_DATE_COLUMN].take(first)
        kept = np.flatnonzero(_present(unread))
        if len(kept):
            examples = ", ".join(repr(str(v)) for v in unread.take(kept[:3]).to_pylist())
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

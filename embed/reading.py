"""Reading articles into a table of paragraphs.

Accepted inputs: a folder of ``.txt`` files (title on the first line,
paragraphs separated by blank lines), single ``.txt``/``.jsonl``/``.json``/
``.csv``/``.parquet`` files, a pandas DataFrame, or a list of strings. The
result is one row per paragraph with a stable id, ``<doc_id>:<position>``,
that survives re-reading the same input.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Union

import pandas as pd

from embed.errors import InputError
from embed.hygiene import flag_paragraphs
from embed.text import normalize_text, split_paragraphs, text_hash

__all__ = ["read_corpus", "PARAGRAPH_COLUMNS", "TABLE_SUFFIXES"]

logger = logging.getLogger(__name__)

Source = Union[str, Path, pd.DataFrame, Sequence[str]]  # noqa: UP007 - a runtime alias on 3.10

#: Columns every paragraph table has, in this order; metadata columns follow.
PARAGRAPH_COLUMNS = [
    "id",
    "doc_id",
    "position",
    "title",
    "text",
    "text_hash",
    "n_chars",
    "source_file",
    "boilerplate",
    "boilerplate_reason",
    "duplicate_of",
]
TABLE_SUFFIXES = {".jsonl", ".json", ".csv", ".parquet"}
TEXT_SUFFIXES = {".txt", ".md"}


def read_corpus(
    *sources: Source,
    text_column: str = "text",
    id_column: str | None = None,
    title_column: str | None = None,
    flag: bool = True,
) -> pd.DataFrame:
    """Read articles from one or more sources into a paragraph table.

    Args:
        *sources: folders of ``.txt`` files, single files (``.txt``, ``.jsonl``,
            ``.json``, ``.csv``, ``.parquet``), DataFrames, or lists of strings.
        text_column: column holding the article (or paragraph) text in tables.
        id_column: column with document ids; by default ``id`` when present,
            otherwise ``<file stem>#<row>``.
        title_column: column with titles; by default ``title`` when present.
        flag: mark boilerplate and duplicate paragraphs (never deletes any).

    Returns:
        A DataFrame with :data:`PARAGRAPH_COLUMNS` followed by any metadata
        columns of the input (``date``, ``source``, ...).

    Raises:
        InputError: when a source is missing, empty, not UTF-8, binary, or
            lacks ``text_column``.
    """
    if not sources:
        raise InputError("read_corpus needs at least one source (a folder, file, DataFrame or list of str)")
    docs: list[dict[str, Any]] = []
    for source in sources:
        docs.extend(_read_source(source, text_column, id_column, title_column))
    seen: dict[str, str] = {}
    for doc in docs:
        if doc["doc_id"] in seen:
            raise InputError(
                f"document id {doc['doc_id']!r} occurs twice (in {seen[doc['doc_id']]} and "
                f"{doc['source_file']}); document ids must be unique"
            )
        seen[doc["doc_id"]] = doc["source_file"]
    table = _paragraph_table(docs)
    if table.empty:
        raise InputError(f"no paragraphs found in {', '.join(_describe(s) for s in sources)}")
    if flag:
        table = flag_paragraphs(table)
    logger.info("read %d documents, %d paragraphs", len(docs), len(table))
    return table


def _describe(source: Source) -> str:
    if isinstance(source, (str, Path)):
        return str(source)
    if isinstance(source, pd.DataFrame):
        return f"a DataFrame of {len(source)} rows"
    return f"a list of {len(source)} texts"


def _read_source(
    source: Source, text_column: str, id_column: str | None, title_column: str | None
) -> list[dict[str, Any]]:
    if isinstance(source, pd.DataFrame):
        return _docs_from_frame(source, "<DataFrame>", "row", text_column, id_column, title_column)
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise InputError(f"{path}: no such file or folder")
        if path.is_dir():
            return _read_folder(path, text_column, id_column, title_column)
        return _read_file(path, text_column, id_column, title_column)
    if isinstance(source, Iterable):
        return _docs_from_strings(list(source))
    raise InputError(
        f"cannot read {type(source).__name__!r}: expected a folder, a file path, a DataFrame or a list of str"
    )


def _read_folder(path: Path, text_column: str, id_column: str | None, title_column: str | None) -> list[dict]:
    files = sorted(
        p for p in path.rglob("*")
        if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES | TABLE_SUFFIXES and not p.name.startswith(".")
    )
    if not files:
        raise InputError(
            f"{path}: folder holds no readable files (expected {', '.join(sorted(TEXT_SUFFIXES | TABLE_SUFFIXES))})"
        )
    docs: list[dict] = []
    for file in files:
        if not file.read_bytes().strip():
            logger.warning("%s: file is empty; skipped", file)
            continue
        docs.extend(_read_file(file, text_column, id_column, title_column))
    if not docs:
        raise InputError(f"{path}: every readable file in the folder is empty")
    return docs


def _read_file(path: Path, text_column: str, id_column: str | None, title_column: str | None) -> list[dict]:
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return [_doc_from_text_file(path)]
    if suffix == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises many types for broken files
            raise InputError(f"{path}: not a readable Parquet file ({exc})") from exc
    elif suffix in {".jsonl", ".json"}:
        frame = _read_json(path)
    elif suffix == ".csv":
        _check_utf8(path)
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        except pd.errors.EmptyDataError as exc:
            raise InputError(f"{path}: file is empty") from exc
        except pd.errors.ParserError as exc:
            raise InputError(f"{path}: not valid CSV ({exc})") from exc
    else:
        raise InputError(
            f"{path}: unsupported file type {suffix!r} (expected .txt, .jsonl, .json, .csv or .parquet)"
        )
    return _docs_from_frame(frame, str(path), path.stem, text_column, id_column, title_column)


def _check_utf8(path: Path) -> str:
    data = path.read_bytes()
    if not data.strip():
        raise InputError(f"{path}: file is empty")
    if b"\x00" in data[:8192]:
        raise InputError(f"{path}: looks like a binary file (NUL bytes); expected UTF-8 text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: not valid UTF-8 (byte {exc.start}: {data[exc.start:exc.start + 1]!r}); "
            "convert it first, e.g. `iconv -f <encoding> -t UTF-8`"
        ) from exc


def _read_json(path: Path) -> pd.DataFrame:
    raw = _check_utf8(path)
    rows: list[dict] = []
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
        except RecursionError as exc:
            raise InputError(f"{path}: JSON nested too deeply to read") from exc
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise InputError(f"{path}: expected a JSON array of objects")
        rows = data
    else:
        rows = jsonl_records(raw, path)
    if not rows:
        raise InputError(f"{path}: file holds no records")
    return pd.DataFrame(rows)


def jsonl_records(raw: str, path: Path, first_line: int = 1) -> list[dict]:
    """The JSON objects of JSON Lines text ``raw`` (``first_line``: the line number of its first line in ``path``)."""
    rows: list[dict] = []
    # records end at "\n" only: U+2028, U+2029 and U+0085 are valid inside JSON strings
    for lineno, line in enumerate(raw.split("\n"), start=first_line):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}, line {lineno}: not valid JSON ({exc.msg})") from exc
        except RecursionError as exc:
            raise InputError(f"{path}, line {lineno}: JSON nested too deeply to read") from exc
        if not isinstance(row, dict):
            raise InputError(f"{path}, line {lineno}: expected a JSON object, got {type(row).__name__}")
        rows.append(row)
    return rows


def _doc_from_text_file(path: Path) -> dict:
    text = _check_utf8(path)
    lines = normalize_text(text).split("\n")
    title = lines[0].strip()
    body = "\n".join(lines[1:])
    paragraphs = split_paragraphs(body)
    if not paragraphs:
        # A one-line file: its only line is the text.
        paragraphs = [title] if title else []
    if not paragraphs:
        raise InputError(f"{path}: file holds no text")
    return {"doc_id": path.stem, "title": title, "paragraphs": paragraphs, "source_file": str(path), "meta": {}}


def _docs_from_frame(
    frame: pd.DataFrame,
    where: str,
    stem: str,
    text_column: str,
    id_column: str | None,
    title_column: str | None,
    first_row: int = 0,
) -> list[dict]:
    """Documents of a table's rows (``first_row``: the number of its first row in the file, for ids and messages)."""
    if text_column not in frame.columns:
        raise InputError(
            f"{where}: no text column {text_column!r}; columns are {list(map(str, frame.columns))} "
            "(choose one with text_column= / --text-column)"
        )
    for name, column in (("id_column", id_column), ("title_column", title_column)):
        if column is not None and column not in frame.columns:
            raise InputError(f"{where}: no column {column!r} for {name}; columns are {list(map(str, frame.columns))}")
    id_col = id_column or ("id" if "id" in frame.columns else None)
    title_col = title_column or ("title" if "title" in frame.columns else None)
    meta_cols = [c for c in frame.columns if c not in {text_column, id_col, title_col}]
    docs = []
    empty: list[int] = []
    for row_number, row in enumerate(frame.itertuples(index=False), start=first_row):
        record = dict(zip(frame.columns, row))
        text = record[text_column]
        if text is None or (isinstance(text, float) and pd.isna(text)):
            text = ""
        if not isinstance(text, str):
            raise InputError(
                f"{where}, row {row_number}: column {text_column!r} holds {type(text).__name__} {text!r}; expected text"
            )
        doc_id = str(record[id_col]) if id_col else f"{stem}#{row_number}"
        title = normalize_text(str(record[title_col])) if title_col and record[title_col] is not None else ""
        meta = {str(c): _plain(record[c]) for c in meta_cols}
        paragraphs = split_paragraphs(text)
        if not paragraphs:
            empty.append(row_number)
        docs.append({"doc_id": doc_id, "title": title, "paragraphs": paragraphs, "source_file": where, "meta": meta})
    if empty:
        shown = ", ".join(map(str, empty[:10])) + (" ..." if len(empty) > 10 else "")
        logger.warning("%s: %d of %d rows have no text in %r and add no paragraphs (rows %s)",
                       where, len(empty), len(frame), text_column, shown)
    return docs


def _plain(value: Any) -> Any:
    """Metadata values as Parquet-friendly scalars (lists/dicts become JSON)."""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, default=str)  # e.g. a timestamp inside a Parquet struct
    return value


def _docs_from_strings(texts: list) -> list[dict]:
    docs = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise InputError(f"item {i} of the list is {type(text).__name__} {text!r}; expected str")
        digest = hashlib.sha1(normalize_text(text).encode("utf-8")).hexdigest()[:16]
        docs.append(
            {"doc_id": f"{i:05d}_{digest}", "title": "", "paragraphs": split_paragraphs(text),
             "source_file": "<list>", "meta": {}}
        )
    return docs


def _paragraph_table(docs: list[dict]) -> pd.DataFrame:
    table = pd.DataFrame(paragraph_rows(docs))
    if table.empty:
        return pd.DataFrame(columns=PARAGRAPH_COLUMNS)
    return typed_table(table)


def typed_table(table: pd.DataFrame) -> pd.DataFrame:
    """The column types of a paragraph table built from :func:`paragraph_rows`."""
    table["position"] = table["position"].astype("int64")
    table["n_chars"] = table["n_chars"].astype("int64")
    return table.reset_index(drop=True)


def paragraph_rows(docs: list[dict]) -> list[dict[str, Any]]:
    """One dict per paragraph of ``docs`` (as the readers return them): the
    :data:`PARAGRAPH_COLUMNS`, then the document's metadata."""
    rows = []
    for doc in docs:
        for position, text in enumerate(doc["paragraphs"]):
            rows.append(
                {
                    "id": f"{doc['doc_id']}:{position}",
                    "doc_id": doc["doc_id"],
                    "position": position,
                    "title": doc["title"],
                    "text": text,
                    "text_hash": text_hash(text),
                    "n_chars": len(text),
                    "source_file": doc["source_file"],
                    "boilerplate": False,
                    "boilerplate_reason": None,
                    "duplicate_of": None,
                    **{(f"meta_{k}" if k in PARAGRAPH_COLUMNS else k): v for k, v in doc["meta"].items()},
                }
            )
    return rows

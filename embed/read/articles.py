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
import os
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Union

import pandas as pd

from embed.errors import InputError
from embed.names import PARAGRAPH_COLUMNS
from embed.read.dates import is_missing, normalize_dates
from embed.read.hygiene import flag_paragraphs
from embed.read.text import normalize_text, split_paragraphs, text_hash

__all__ = ["read_corpus", "PARAGRAPH_COLUMNS", "TABLE_SUFFIXES", "MAX_FILE_BYTES", "MAX_PARAGRAPH_CHARS"]

logger = logging.getLogger(__name__)

Source = Union[str, Path, pd.DataFrame, Sequence[str]]  # noqa: UP007 - a runtime alias on 3.10

#: Columns every paragraph table has, in this order; metadata columns follow.
TABLE_SUFFIXES = {".jsonl", ".json", ".csv", ".parquet"}
TEXT_SUFFIXES = {".txt", ".md"}
#: Largest input file read whole (``$PARATOPIC_MAX_FILE_BYTES`` overrides): a JSON Lines
#: or CSV file takes several times its size in memory once parsed. Larger JSON Lines and
#: Parquet files are read in pieces by the distributed build (``--ray``).
MAX_FILE_BYTES = 1 << 30
#: Longest paragraph accepted, in characters (about 40 windows of 512 tokens: tens of seconds
#: of embedding on one CPU core; twice VNTC's longest real one-block article, 48,678). A longer
#: "paragraph" is a whole book, a scrape without line breaks or a broken file; its vector would
#: average dozens of windows into a blur, and it is refused with a message instead of embedding
#: silently for minutes.
MAX_PARAGRAPH_CHARS = 100_000
#: Column whose values are read as dates (:mod:`embed.read.dates`).
DATE_COLUMN = "date"
#: Column that keeps the raw text of dates that could not be read.
UNREAD_DATE_COLUMN = "date_unread"


def read_corpus(
    *sources: Source,
    text_column: str = "text",
    id_column: str | None = None,
    title_column: str | None = None,
    flag: bool = True,
    month_first: bool = False,
) -> pd.DataFrame:
    """Read articles from one or more sources into a paragraph table.

    Args:
        *sources: folders of ``.txt`` files, single files (``.txt``, ``.jsonl``,
            ``.json``, ``.csv``, ``.parquet``), DataFrames, or lists of strings.
        text_column: column holding the article (or paragraph) text in tables.
        id_column: column with document ids; by default ``id`` when present,
            otherwise ``<file stem>#<row>``. A row whose id is missing, null,
            NaN or empty gets ``<file stem>#<16 hex>``, a digest of its title
            and text (the same on every read; ``-2``, ``-3`` ... for repeats of
            an identical article). An id that occurs twice in one input is an
            error naming both rows.
        title_column: column with titles; by default ``title`` when present.
        flag: mark boilerplate and duplicate paragraphs (never deletes any).
        month_first: read ``dd/mm/yyyy``-style dates of the ``date`` column
            month-first (``mm/dd/yyyy``) instead of day-first; ISO dates are
            read first either way (:mod:`embed.read.dates`). Dates that cannot be
            read are left empty, their raw text kept in ``date_unread``, and
            counted with examples in a logged warning.

    Returns:
        A DataFrame with :data:`PARAGRAPH_COLUMNS` followed by any metadata
        columns of the input (``date``, ``source``, ...).

    Raises:
        InputError: when a source is missing, empty, not UTF-8, binary, not a
            regular file (a FIFO, a device), larger than :data:`MAX_FILE_BYTES`,
            lacks ``text_column``, repeats a document id, or holds a paragraph
            longer than :data:`MAX_PARAGRAPH_CHARS`.
    """
    if not sources:
        raise InputError("read_corpus needs at least one source (a folder, file, DataFrame or list of str)")
    docs: list[dict[str, Any]] = []
    for source in sources:
        docs.extend(_read_source(source, text_column, id_column, title_column, month_first))
    seen: dict[str, dict] = {}
    for doc in docs:
        if doc["doc_id"] in seen:
            raise InputError(
                f"document id {doc['doc_id']!r} occurs twice (in {_where(seen[doc['doc_id']])} and "
                f"{_where(doc)}); document ids must be unique"
            )
        seen[doc["doc_id"]] = doc
    table = _paragraph_table(docs)
    if table.empty:
        raise InputError(f"no paragraphs found in {', '.join(_describe(s) for s in sources)}")
    if flag:
        table = flag_paragraphs(table)
    logger.info("read %d documents, %d paragraphs", len(docs), len(table))
    return table


def _where(doc: dict) -> str:
    """Where a document comes from: its file, and its row in a table."""
    return doc["source_file"] + (f" row {doc['row']}" if doc.get("row") is not None else "")


def _describe(source: Source) -> str:
    if isinstance(source, (str, Path)):
        return str(source)
    if isinstance(source, pd.DataFrame):
        return f"a DataFrame of {len(source)} rows"
    return f"a list of {len(source)} texts"


def _read_source(
    source: Source, text_column: str, id_column: str | None, title_column: str | None, month_first: bool = False
) -> list[dict[str, Any]]:
    if isinstance(source, pd.DataFrame):
        return _docs_from_frame(source, "<DataFrame>", "row", text_column, id_column, title_column,
                                month_first=month_first)
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise InputError(f"{path}: no such file or folder")
        if path.is_dir():
            return _read_folder(path, text_column, id_column, title_column, month_first)
        return _read_file(path, text_column, id_column, title_column, month_first)
    if isinstance(source, Iterable):
        return _docs_from_strings(list(source))
    raise InputError(
        f"cannot read {type(source).__name__!r}: expected a folder, a file path, a DataFrame or a list of str"
    )


def _read_folder(path: Path, text_column: str, id_column: str | None, title_column: str | None,
                 month_first: bool = False) -> list[dict]:
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
        if _is_blank(file):
            logger.warning("%s: file is empty; skipped", file)
            continue
        docs.extend(_read_file(file, text_column, id_column, title_column, month_first))
    if not docs:
        raise InputError(f"{path}: every readable file in the folder is empty")
    return docs


def _is_blank(path: Path) -> bool:
    """True when the file holds only whitespace (read in blocks: a large file is not read whole)."""
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            if block.strip():
                return False
    return True


_SPECIAL = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
            (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def check_input_file(path: Path) -> None:
    """Refuse what cannot be read as an article file: not a regular file (a FIFO would block forever, a
    device such as /dev/zero never ends, also behind a symbolic link), or larger than the limit."""
    try:
        info = path.stat()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _SPECIAL if test(info.st_mode)), "not a regular file")
        raise InputError(f"{path}: is {kind}, not a regular file; give article files or folders of them")
    limit = _max_file_bytes()
    if info.st_size > limit:
        raise InputError(
            f"{path}: {info.st_size / 2**20:,.0f} MiB is more than the {limit / 2**20:,.0f} MiB a file read whole may "
            "have; split it into smaller files, or build with --ray (reads JSON Lines and Parquet in pieces); "
            "PARATOPIC_MAX_FILE_BYTES raises the limit"
        )


def _max_file_bytes() -> int:
    try:
        return int(os.environ.get("PARATOPIC_MAX_FILE_BYTES", MAX_FILE_BYTES))
    except ValueError:
        return MAX_FILE_BYTES


def _read_file(path: Path, text_column: str, id_column: str | None, title_column: str | None,
               month_first: bool = False) -> list[dict]:
    check_input_file(path)
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
    return _docs_from_frame(frame, str(path), path.stem, text_column, id_column, title_column, month_first=month_first)


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
    _check_lengths(paragraphs, str(path))
    return {"doc_id": path.stem, "title": title, "paragraphs": paragraphs, "source_file": str(path), "meta": {}}


def _docs_from_frame(
    frame: pd.DataFrame,
    where: str,
    stem: str,
    text_column: str,
    id_column: str | None,
    title_column: str | None,
    first_row: int = 0,
    *,
    month_first: bool = False,
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
    dates = _dates(frame, where, first_row, month_first)
    docs = []
    empty: list[int] = []
    rows_of: dict[str, int] = {}
    derived: dict[str, int] = {}
    for offset, row in enumerate(frame.itertuples(index=False)):
        row_number = first_row + offset
        record = dict(zip(frame.columns, row))
        text = record[text_column]
        if text is None or (isinstance(text, float) and pd.isna(text)):
            text = ""
        if not isinstance(text, str):
            raise InputError(
                f"{where}, row {row_number}: column {text_column!r} holds {type(text).__name__} {text!r}; expected text"
            )
        title = normalize_text(str(record[title_col])) if title_col and not is_missing(record[title_col]) else ""
        paragraphs = split_paragraphs(text)
        _check_lengths(paragraphs, f"{where}, row {row_number}")
        if not id_col:
            doc_id = f"{stem}#{row_number}"
        elif is_missing(record[id_col]):
            doc_id = _derived_id(stem, title, paragraphs, derived)
        else:
            doc_id = _id_text(record[id_col])
            if doc_id in rows_of:
                raise InputError(
                    f"{where}: document id {doc_id!r} occurs in rows {rows_of[doc_id]} and {row_number} (rows "
                    "counted from 0); ids must be unique (leave an id empty to derive one from the article's text)"
                )
            rows_of[doc_id] = row_number
        meta = {str(c): _plain(record[c]) for c in meta_cols}
        if dates is not None:
            meta[DATE_COLUMN], unread = dates[0][offset], dates[1][offset]
            if unread is not None:
                meta[UNREAD_DATE_COLUMN] = unread
        if not paragraphs:
            empty.append(row_number)
        docs.append({"doc_id": doc_id, "title": title, "paragraphs": paragraphs, "source_file": where, "meta": meta,
                     "row": row_number})
    if empty:
        shown = ", ".join(map(str, empty[:10])) + (" ..." if len(empty) > 10 else "")
        logger.warning("%s: %d of %d rows have no text in %r and add no paragraphs (rows %s)",
                       where, len(empty), len(frame), text_column, shown)
    clash = set(derived) & set(rows_of)
    if clash:
        name = sorted(clash)[0]
        raise InputError(f"{where}: document id {name!r} is given in row {rows_of[name]} and derived for a row "
                         "without an id; give that row another id")
    return docs


def _id_text(value: Any) -> str:
    """A document id as text: ``7`` for 7 and for 7.0 (a JSON or Parquet integer column with nulls
    arrives as floats), the text itself otherwise."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return _id_text(value.item())
    return str(value)


def _derived_id(stem: str, title: str, paragraphs: list[str], seen: dict[str, int]) -> str:
    """``<stem>#<16 hex>`` from the article's title and paragraphs: the same on every read of the
    same article; a repeat of an identical article in the same input gets ``-2``, ``-3`` ..."""
    content = "\x1f".join([title, *paragraphs])
    base = f"{stem}#{hashlib.sha1(content.encode('utf-8')).hexdigest()[:16]}"
    seen[base] = seen.get(base, 0) + 1
    return base if seen[base] == 1 else f"{base}-{seen[base]}"


def _dates(frame: pd.DataFrame, where: str, first_row: int,
           month_first: bool) -> tuple[list[Any], list[str | None]] | None:
    """The ``date`` column read by :func:`embed.read.dates.normalize_dates` and the raw text of unread ones
    (None without a date column); the unread ones are counted, with examples, in a warning."""
    if DATE_COLUMN not in frame.columns:
        return None
    raw = frame[DATE_COLUMN].tolist()
    values, report = normalize_dates(raw, where=where, first_row=first_row, month_first=month_first)
    if report.unread:
        logger.warning("%s", report.message())
    unread = [str(r) if v is None and not is_missing(r) else None for v, r in zip(values, raw)]
    return values, unread


def _check_lengths(paragraphs: list[str], where: str) -> None:
    """Refuse a paragraph longer than :data:`MAX_PARAGRAPH_CHARS`."""
    for position, text in enumerate(paragraphs):
        if len(text) > MAX_PARAGRAPH_CHARS:
            raise InputError(
                f"{where}: paragraph {position} is {len(text):,} characters long, more than the "
                f"{MAX_PARAGRAPH_CHARS:,} a paragraph may have (it would take minutes to embed and blur into one "
                "vector); separate its paragraphs with blank lines"
            )


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
        paragraphs = split_paragraphs(text)
        _check_lengths(paragraphs, f"item {i} of the list")
        digest = hashlib.sha1(normalize_text(text).encode("utf-8")).hexdigest()[:16]
        docs.append(
            {"doc_id": f"{i:05d}_{digest}", "title": "", "paragraphs": paragraphs,
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

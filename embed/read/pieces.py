"""Large input files cut into pieces that read in parallel (the distributed build).

A distributed build reads each input file in one task; an archive that
arrives as one 5 GB JSON Lines file would then be read, split and hashed by
a single task holding all of it. Files from :data:`PIECE_BYTES` on are cut
instead:

- JSON Lines at line ends, into pieces of about :data:`PIECE_BYTES`;
- Parquet at row-group boundaries (a row group is never split).

Each piece knows the number of its first record in the file, so paragraph
ids (``<file stem>#<row>`` when the table has no id column), error messages
(``file, line N``) and the order of rows are exactly those of reading the
whole file (``embed.read.articles``). CSV files are read whole: a quoted field may
hold a line break, so a byte offset is not a safe place to cut.

The driver plans the pieces (:func:`plan_pieces`, one pass over each large
JSON Lines file counting records; Parquet needs only its footer); a task
reads one (:func:`read_piece`).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from embed.errors import InputError

__all__ = ["Piece", "plan_pieces", "read_piece", "PIECE_BYTES"]

logger = logging.getLogger(__name__)

#: Files this large or larger are read in pieces of about this size.
PIECE_BYTES = 64 << 20


@dataclass(frozen=True)
class Piece:
    """A part of an input file: JSON Lines bytes ``[start, end)`` or Parquet row groups ``[start, end)``;
    ``start is None`` for a whole file."""

    path: str
    start: int | None = None
    end: int | None = None
    first_row: int = 0  #: the number of the piece's first record in the file
    first_line: int = 1  #: JSON Lines: the line number of the piece's first line


def plan_pieces(files: list[str], piece_bytes: int | None = None) -> list[Piece]:
    """The pieces of ``files``, in order: whole files, except JSON Lines and
    Parquet files of at least ``piece_bytes`` (default :data:`PIECE_BYTES`)."""
    size = piece_bytes or PIECE_BYTES
    pieces: list[Piece] = []
    for name in files:
        path = Path(name)
        suffix = path.suffix.lower()
        if suffix not in {".jsonl", ".parquet"} or path.stat().st_size < size:
            pieces.append(Piece(name))
            continue
        parts = _jsonl_pieces(path, size) if suffix == ".jsonl" else _parquet_pieces(path, size)
        logger.info("%s: read in %d pieces", path, len(parts))
        pieces.extend(parts)
    return pieces


def _jsonl_pieces(path: Path, size: int) -> list[Piece]:
    """Cut at the first line end after every ``size`` bytes; count lines and records before each cut."""
    pieces: list[Piece] = []
    start, line, row = 0, 1, 0
    total = path.stat().st_size
    with path.open("rb") as handle:
        while start < total:
            data = handle.read(size)
            data += handle.readline()  # finish the line the cut fell in
            pieces.append(Piece(str(path), start, start + len(data), first_row=row, first_line=line))
            text = data.decode("utf-8-sig" if start == 0 else "utf-8", errors="replace")
            start += len(data)
            line += data.count(b"\n")
            row += sum(1 for chunk in text.split("\n") if chunk.strip())  # as embed.read.articles.jsonl_records counts
    return pieces


def _parquet_pieces(path: Path, size: int) -> list[Piece]:
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path).metadata
    except Exception as exc:  # pyarrow raises many types for broken files
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from exc
    pieces: list[Piece] = []
    first, rows, nbytes, row = 0, 0, 0, 0
    for group in range(meta.num_row_groups):
        rows += meta.row_group(group).num_rows
        nbytes += meta.row_group(group).total_byte_size
        if nbytes >= size or group == meta.num_row_groups - 1:
            pieces.append(Piece(str(path), first, group + 1, first_row=row))
            first, row, rows, nbytes = group + 1, row + rows, 0, 0
    return pieces or [Piece(str(path))]


def read_piece(piece: Piece | dict[str, Any], text_column: str = "text", id_column: str | None = None,
               title_column: str | None = None, month_first: bool = False) -> list[dict]:
    """The documents of one piece, as ``embed.read.articles`` gives them for the whole file."""
    from embed.read.articles import _docs_from_frame, _read_file, jsonl_records

    piece = Piece(**piece) if isinstance(piece, dict) else piece
    path = Path(piece.path)
    if piece.start is None:
        return _read_file(path, text_column, id_column, title_column, month_first)
    if path.suffix.lower() == ".jsonl":
        with path.open("rb") as handle:
            handle.seek(piece.start)
            data = handle.read(piece.end - piece.start)
        try:
            raw = data.decode("utf-8-sig" if piece.start == 0 else "utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not valid UTF-8 (byte {piece.start + exc.start}); convert it first, "
                             "e.g. `iconv -f <encoding> -t UTF-8`") from exc
        frame = pd.DataFrame(jsonl_records(raw, path, piece.first_line))
    else:
        import pyarrow.parquet as pq

        frame = pq.ParquetFile(path).read_row_groups(list(range(piece.start, piece.end))).to_pandas()
    if frame.empty:
        return []
    return _docs_from_frame(frame, str(path), path.stem, text_column, id_column, title_column, first_row=piece.first_row,
                            month_first=month_first)


def as_item(piece: Piece) -> dict[str, Any]:
    """A piece as a row of a Ray dataset."""
    return asdict(piece)

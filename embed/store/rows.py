"""An index's paragraph table as it is read from disk, a pyarrow Table, turned into the pandas DataFrame
:attr:`embed.store.index.ParagraphIndex.paragraphs` only when something asks for that.

A search or ``similar`` in a new process needs a few values of a few rows (the hits' ids and texts, the
candidates' story labels) and the flagged-row masks; reading those from the Table spares importing pandas and
converting every column (issue 18: ``paratopic search`` answers in a fresh process). Once the DataFrame is built
it is the table: every later read and change goes through it. Values read from the Table are the ones the
DataFrame holds: ``None`` for a missing value of :data:`OBJECT_COLUMNS`, ``nan`` for one of another column.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["ParagraphRows", "frame_of", "one_chunk", "valid_mask", "truth_mask", "OBJECT_COLUMNS"]

#: Columns a loaded index holds as Python objects (missing: None); other columns' missing values are NaN.
OBJECT_COLUMNS = ("boilerplate_reason", "duplicate_of")


def frame_of(table: Any) -> Any:
    """The DataFrame of a paragraph table read from an index's Parquet file, as ``ParagraphIndex.load`` gives it."""
    paragraphs = table.to_pandas()
    paragraphs = paragraphs.astype({c: object for c in OBJECT_COLUMNS if c in paragraphs.columns})
    return paragraphs.where(paragraphs.notna(), None) if len(paragraphs) else paragraphs


def _bits(buffer: Any, offset: int, n: int) -> np.ndarray:
    """``n`` bits of an Arrow bitmap from bit ``offset``, as bools."""
    return np.unpackbits(np.frombuffer(buffer, dtype=np.uint8), bitorder="little")[offset : offset + n].astype(bool)


def one_chunk(column: Any) -> Any:
    """A (chunked) column as one Arrow array."""
    import pyarrow as pa

    return column.chunk(0) if column.num_chunks == 1 else pa.concat_arrays(column.chunks)


def valid_mask(array: Any) -> np.ndarray:
    """True per value that is not null (a float NaN counts as missing, as pandas' ``notna``)."""
    import pyarrow as pa

    n = len(array)
    if pa.types.is_floating(array.type):
        return np.array([v is not None and not math.isnan(v) for v in array.to_pylist()], dtype=bool)
    if array.null_count == 0:
        return np.ones(n, dtype=bool)
    if array.null_count == n:
        return np.zeros(n, dtype=bool)
    return _bits(array.buffers()[0], array.offset, n)


def truth_mask(array: Any) -> np.ndarray:
    """A boolean column as bools (null: False)."""
    import pyarrow as pa

    if pa.types.is_boolean(array.type):
        return _bits(array.buffers()[1], array.offset, len(array)) & valid_mask(array)
    return np.array([bool(v) for v in array.to_pylist()], dtype=bool)


class ParagraphRows:
    """A paragraph table held as a pyarrow Table (read from disk) or a pandas DataFrame (built, or asked for).

    Args:
        table: the Table read from an index's Parquet file, or None.
        frame: the DataFrame, or None; exactly one of the two is given.
    """

    def __init__(self, table: Any = None, frame: Any = None) -> None:
        if (table is None) == (frame is None):
            raise ValueError("give a pyarrow table or a DataFrame")
        self.table, self.frame_ = table, frame
        #: Grows when the table is replaced (not when the DataFrame is built from it, nor changed in place).
        self.version = 0

    @property
    def frame(self) -> Any:
        """The DataFrame, built from the Table on first use (the Table is dropped then)."""
        if self.frame_ is None:
            self.frame_ = frame_of(self.table)
            self.table = None
        return self.frame_

    def replaced(self, frame: Any) -> ParagraphRows:
        """New rows holding ``frame`` (a later :attr:`version`); these are left as they are, so that a shallow
        copy of an index that replaces its table leaves the original's alone."""
        rows = ParagraphRows(frame=frame)
        rows.version = self.version + 1
        return rows

    def __len__(self) -> int:
        return len(self.frame_) if self.frame_ is not None else int(self.table.num_rows)

    @property
    def column_names(self) -> list[str]:
        return list(self.frame_.columns) if self.frame_ is not None else list(self.table.column_names)

    def column(self, name: str) -> list[Any]:
        """Every value of column ``name`` (KeyError for a column the table lacks)."""
        if self.frame_ is not None:
            return self.frame_[name].tolist()
        if name not in self.table.column_names:
            raise KeyError(name)
        return self._python(name, self.table.column(name).to_pylist())

    def set_column(self, name: str, values: Sequence[Any] | np.ndarray) -> None:
        """Add column ``name`` (or replace it) with one value per row."""
        if self.frame_ is not None:
            self.frame_[name] = values
            return
        import pyarrow as pa

        values = np.asarray(values)
        if values.dtype.kind in "iuf" and values.ndim == 1:  # numbers (story labels): as they are, no pandas
            values = np.ascontiguousarray(values)
            array = pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), len(values), [None, pa.py_buffer(values)])
        else:
            array = pa.array(values.tolist())  # pyarrow's conversion of other values imports pandas
        names = self.table.column_names
        self.table = (self.table.set_column(names.index(name), name, array) if name in names
                      else self.table.append_column(name, array))

    def _python(self, name: str, values: list[Any]) -> list[Any]:
        if name in OBJECT_COLUMNS:
            return values
        return [math.nan if v is None else v for v in values]

    def at(self, name: str, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """An object array of column ``name``'s values at ``rows``, as the DataFrame's ``to_numpy`` gives them."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.frame_ is not None:
            return self.frame_[name].iloc[rows].to_numpy(dtype=object)
        array = one_chunk(self.table.column(name))
        out = np.empty(len(rows), dtype=object)
        out[:] = self._python(name, [array[int(r)].as_py() for r in rows])
        return out

    def flagged(self) -> tuple[np.ndarray, np.ndarray]:
        """(boilerplate, duplicate) per row, as bools."""
        if self.frame_ is not None:
            return self.frame_["boilerplate"].to_numpy(bool), self.frame_["duplicate_of"].notna().to_numpy()
        return (truth_mask(one_chunk(self.table.column("boilerplate"))),
                valid_mask(one_chunk(self.table.column("duplicate_of"))))

    def ranking_values(self, column: str, rows: np.ndarray) -> np.ndarray:
        """Column ``column``'s values at ``rows`` for ``embed.search.ranking.ranked`` (story labels for the story
        column)."""
        from embed.search.grouping import STORY_COLUMN

        return self.story_labels(column, rows) if column == STORY_COLUMN else self.at(column, rows)

    def hit_columns(self, rows: list[int]) -> dict[str, np.ndarray]:
        """The result columns of the hits' rows (``embed.search.ranking.results_table``)."""
        out = {c: self.at(c, rows) for c in ("id", "doc_id", "title", "text", "duplicate_of")}
        out["boilerplate"] = self.at("boilerplate", rows).astype(bool)
        return out

    def story_labels(self, column: str, rows: np.ndarray) -> np.ndarray:
        """Story labels at ``rows`` (``embed.search.grouping.story_labels``: None where missing or negative)."""
        if self.frame_ is not None:
            from embed.search.grouping import story_labels

            return story_labels(self.frame_[[column]].iloc[rows])
        import pyarrow as pa

        array = one_chunk(self.table.column(column))
        values = [array[int(r)].as_py() for r in rows]
        numeric = pa.types.is_integer(array.type) or pa.types.is_floating(array.type)
        labels = np.empty(len(values), dtype=object)
        labels[:] = [None if v is None or (isinstance(v, float) and math.isnan(v)) or (numeric and v < 0) else v
                     for v in values]
        return labels

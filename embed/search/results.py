"""Search results: a ranked table that renders in the terminal (rich) and in
Jupyter (HTML), and converts to a DataFrame or JSON.

Hits come in groups (``embed.search.grouping``): the display shows one line per
group, its leader, with the other members collapsed ("+2 more from 2 other
documents"); :meth:`SearchResults.to_frame` keeps every hit.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SearchResults", "RESULT_COLUMNS"]

#: Columns of :meth:`SearchResults.to_frame`, in order.
RESULT_COLUMNS = ["query", "rank", "score", "id", "doc_id", "title", "text", "boilerplate", "duplicate_of",
                  "group", "is_group_leader"]


class SearchResults:
    """Ranked hits for one or more queries.

    One row per hit with :data:`RESULT_COLUMNS`, in score order; ``query``
    holds the query text or the paragraph id it was run for, ``rank`` starts
    at 1 for every query, ``score`` is the cosine similarity, ``group`` is
    the rank of the hit's group leader (its own rank when it leads, and for
    every hit of a search that does not group).
    """

    def __init__(self, frame: pd.DataFrame | None = None, *, columns: dict[str, Sequence[Any]] | None = None) -> None:
        self._frame_: pd.DataFrame | None = None
        self._columns: dict[str, Sequence[Any]] | None = None
        self._records: list[dict[str, Any]] | None = None
        if frame is not None:
            frame = frame.reset_index(drop=True)
            if "group" not in frame.columns:  # a table of ungrouped hits
                frame = frame.assign(group=frame["rank"], is_group_leader=True)
            self._frame_ = frame[RESULT_COLUMNS]
        elif columns is not None:
            missing = [c for c in RESULT_COLUMNS if c not in columns]
            if missing:
                raise ValueError(f"results need the columns {RESULT_COLUMNS}; missing {missing}")
            self._columns = dict(columns)
        else:
            raise ValueError("give the hits as a DataFrame or as columns")

    @classmethod
    def from_columns(cls, columns: dict[str, Sequence[Any]]) -> SearchResults:
        """Results from :data:`RESULT_COLUMNS` given as lists or arrays of one value per hit; the DataFrame
        (``pd.DataFrame(columns)``) is built only when asked for, so that showing them needs no pandas."""
        return cls(columns=columns)

    @property
    def _frame(self) -> pd.DataFrame:
        if self._frame_ is None:
            import pandas as pd

            self._frame_ = pd.DataFrame(self._columns)[RESULT_COLUMNS]
        return self._frame_

    @property
    def _hits(self) -> list[dict[str, Any]]:
        """Every hit as a record of Python values, as ``DataFrame.to_dict("records")`` gives them."""
        if self._records is None:
            if self._columns is None:
                self._records = self._frame.to_dict("records")
            else:
                values = [[_native(v) for v in self._columns[c]] for c in RESULT_COLUMNS]
                self._records = [dict(zip(RESULT_COLUMNS, row)) for row in zip(*values)]
        return self._records

    def to_frame(self) -> pd.DataFrame:
        """The hits as a new DataFrame."""
        return self._frame.copy()

    @property
    def queries(self) -> list[str]:
        """The queries, in the order they were asked."""
        return list(dict.fromkeys(hit["query"] for hit in self._hits))

    def for_query(self, query: str) -> SearchResults:
        """Only the hits of one query."""
        return SearchResults(self._frame[self._frame["query"] == query])

    def leaders(self) -> SearchResults:
        """Only the group leaders: the lines the display shows."""
        return SearchResults(self._frame[self._frame["is_group_leader"]])

    def groups(self, query: str) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """One query's groups in order: ``(leader, members)`` hit records."""
        hits = [hit for hit in self._hits if hit["query"] == query]
        members: dict[int, list[dict[str, Any]]] = {}
        for hit in hits:
            if not hit["is_group_leader"]:
                members.setdefault(hit["group"], []).append(hit)
        return [(hit, members.get(hit["rank"], [])) for hit in hits if hit["is_group_leader"]]

    def to_json(self, indent: int | None = None) -> str:
        """The hits as JSON: one object per group leader (per hit when not
        grouping), in order, each with its other hits under ``"members"``."""
        records = json.loads(self._frame.to_json(orient="records", force_ascii=False))
        by_group: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for hit in records:
            if not hit["is_group_leader"]:
                by_group.setdefault((hit["query"], hit["group"]), []).append(hit)
        out = [{**hit, "members": by_group.get((hit["query"], hit["rank"]), [])}
               for hit in records if hit["is_group_leader"]]
        return json.dumps(out, ensure_ascii=False, indent=indent)

    @property
    def ids(self) -> list[str]:
        """Paragraph ids of all hits, in order."""
        return [hit["id"] for hit in self._hits]

    def __len__(self) -> int:
        return len(self._hits) if self._frame_ is None else len(self._frame_)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._frame.to_dict("records"))

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self._frame.iloc[i].to_dict()

    def __repr__(self) -> str:
        lines = []
        for query in self.queries:
            lines.append(f"query: {query}")
            for n, (hit, members) in enumerate(self.groups(query), start=1):
                lines.append(f"  {n:>2}  {hit['score']:.3f}  {hit['id']}  {_short(hit['text'], 100)}")
                if members:
                    lines.append(f"      {more_label(hit, members)}: {', '.join(m['id'] for m in members)}")
        return "\n".join(lines) if lines else "SearchResults(no hits)"

    def __rich__(self) -> Any:
        """One table per query, one row per group (its other members named in
        one dim line); article text is plain text, never parsed as rich markup."""
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        tables = []
        for query in self.queries:
            table = Table(title=Text(f"query: {query}", style="bold"), title_justify="left", expand=True)
            table.add_column("#", justify="right", width=3)
            table.add_column("score", justify="right", width=6)
            table.add_column("paragraph", no_wrap=True, overflow="ellipsis", max_width=26)
            table.add_column("text (and document title)", overflow="fold", ratio=1)
            for n, (hit, members) in enumerate(self.groups(query), start=1):
                body = Text(hit["text"])
                if hit["title"]:
                    body.append(f"\n{hit['title']}", style="dim italic")
                if members:
                    named = " · ".join(f"{_short(m['title'] or m['text'], 60)} ({m['score']:.3f})" for m in members[:3])
                    body.append(f"\n{more_label(hit, members)}: {named}{' …' if len(members) > 3 else ''}",
                                style="cyan")
                table.add_row(str(n), f"{hit['score']:.3f}", Text(hit["id"]), body)
            tables.append(table)
        return Group(*tables)

    def _repr_html_(self) -> str:
        rows = []
        for query in self.queries:
            for n, (hit, members) in enumerate(self.groups(query), start=1):
                text = html.escape(hit["text"])
                if members:
                    items = "".join(
                        f"<li>{m['score']:.3f} <code>{html.escape(m['id'])}</code> "
                        f"<i>{html.escape(m['title'] or '')}</i> {html.escape(m['text'])}</li>" for m in members)
                    text += f"<details><summary>{html.escape(more_label(hit, members))}</summary><ul>{items}</ul></details>"
                rows.append(
                    "<tr>"
                    f"<td>{html.escape(str(query))}</td><td>{n}</td>"
                    f"<td>{hit['score']:.3f}</td><td><code>{html.escape(hit['id'])}</code></td>"
                    f"<td>{html.escape(hit['title'] or '')}</td>"
                    f"<td style='text-align:left'>{text}</td>"
                    "</tr>"
                )
        head = "".join(f"<th>{c}</th>" for c in ["query", "#", "score", "paragraph", "title", "text"])
        return (
            f"<table class='paratopic-hits'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
        )


def more_label(leader: dict[str, Any], members: list[dict[str, Any]]) -> str:
    """"+3 more from 2 other documents" (and/or "the same document") for a group's members."""
    others = {m["doc_id"] for m in members if m["doc_id"] != leader["doc_id"]}
    same = sum(m["doc_id"] == leader["doc_id"] for m in members)
    where = []
    if others:
        where.append(f"{len(others)} other document{'s' if len(others) > 1 else ''}")
    if same:
        where.append("the same document")
    return f"+{len(members)} more from {' and '.join(where)}"


def _native(value: Any) -> Any:
    """A numpy scalar as the Python value ``to_dict`` gives for it; other values as they are."""
    return value.item() if hasattr(value, "item") and type(value).__module__ == "numpy" else value


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"

"""Search results: a ranked table that renders in the terminal (rich) and in
Jupyter (HTML), and converts to a DataFrame."""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Any

import pandas as pd

__all__ = ["SearchResults", "RESULT_COLUMNS"]

#: Columns of :meth:`SearchResults.to_frame`, in order.
RESULT_COLUMNS = ["query", "rank", "score", "id", "doc_id", "title", "text", "boilerplate", "duplicate_of"]


class SearchResults:
    """Ranked hits for one or more queries.

    One row per hit with :data:`RESULT_COLUMNS`; ``query`` holds the query
    text or the paragraph id it was run for, ``rank`` starts at 1 for every
    query, ``score`` is the cosine similarity.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame.reset_index(drop=True)[RESULT_COLUMNS]

    def to_frame(self) -> pd.DataFrame:
        """The hits as a new DataFrame."""
        return self._frame.copy()

    @property
    def queries(self) -> list[str]:
        """The queries, in the order they were asked."""
        return list(dict.fromkeys(self._frame["query"]))

    def for_query(self, query: str) -> SearchResults:
        """Only the hits of one query."""
        return SearchResults(self._frame[self._frame["query"] == query])

    @property
    def ids(self) -> list[str]:
        """Paragraph ids of all hits, in order."""
        return self._frame["id"].tolist()

    def __len__(self) -> int:
        return len(self._frame)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._frame.to_dict("records"))

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self._frame.iloc[i].to_dict()

    def __repr__(self) -> str:
        lines = []
        for query in self.queries:
            lines.append(f"query: {query}")
            for hit in self.for_query(query):
                text = hit["text"] if len(hit["text"]) <= 100 else hit["text"][:99] + "…"
                lines.append(f"  {hit['rank']:>2}  {hit['score']:.3f}  {hit['id']}  {text}")
        return "\n".join(lines) if lines else "SearchResults(no hits)"

    def __rich__(self) -> Any:
        """One table per query; article text is shown as plain text, never
        parsed as rich markup."""
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
            for hit in self.for_query(query):
                body = Text(hit["text"])
                if hit["title"]:
                    body.append(f"\n{hit['title']}", style="dim italic")
                table.add_row(str(hit["rank"]), f"{hit['score']:.3f}", Text(hit["id"]), body)
            tables.append(table)
        return Group(*tables)

    def _repr_html_(self) -> str:
        rows = []
        for hit in self:
            rows.append(
                "<tr>"
                f"<td>{html.escape(str(hit['query']))}</td><td>{hit['rank']}</td>"
                f"<td>{hit['score']:.3f}</td><td><code>{html.escape(hit['id'])}</code></td>"
                f"<td>{html.escape(hit['title'] or '')}</td>"
                f"<td style='text-align:left'>{html.escape(hit['text'])}</td>"
                "</tr>"
            )
        head = "".join(f"<th>{c}</th>" for c in ["query", "#", "score", "paragraph", "title", "text"])
        return (
            f"<table class='paratopic-hits'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
        )

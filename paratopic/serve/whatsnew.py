"""The explorer's "new since" routes: ``/api/new`` and the ``/new`` page (see :mod:`paratopic.serve.changes`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, Response

from paratopic.serve.views import Explorer, parse_date

__all__ = ["add_new_since_routes"]

Since = Annotated[str | None, Query(max_length=40, description="ISO date YYYY-MM-DD; empty: the previous update.")]
MinArticles = Annotated[int, Query(ge=1, le=1000, description="New stories listed have this many articles or more.")]


def add_new_since_routes(app: FastAPI, explorer: Explorer, page: Callable[..., Response]) -> None:
    """Add ``GET /api/new`` and ``GET /new`` to ``app``; ``page(request, template, **context)`` renders a page."""

    @app.get("/api/new", tags=["api"])
    def api_new(since: Since = None, min_articles: MinArticles = 2) -> dict[str, Any]:
        """What is new since the previous update (no ``since``: the articles that update took in) or since the day
        ``since``: new articles, new and continued stories (each with its articles and timeline), new and growing
        topics. ``available`` is false, with a ``message``, when there is no previous update and no date."""
        return explorer.new_since(parse_date(since, "since"), min_articles)

    @app.get("/new", response_class=HTMLResponse, include_in_schema=False)
    def new_page(request: Request, since: Since = None) -> Response:
        return page(request, "new.html", new=explorer.new_since(parse_date(since, "since")),
                    chosen=(since or "").strip())

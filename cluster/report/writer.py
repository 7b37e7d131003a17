"""Topic reports: one self-contained HTML file (opens offline, no CDN),
Markdown, or JSON, all carrying the same facts.

Every paragraph, title and keyword comes from untrusted articles: the HTML
template autoescapes everything, and figure data embedded in ``<script>`` goes
through Jinja's ``tojson`` filter (``<``, ``>``, ``&`` and ``'`` escaped as
``\\uXXXX``, all non-ASCII too), so article text can never close the script or
inject markup. In Markdown every such text goes through
:func:`md_text` (HTML and Markdown syntax neutralised, so a renderer shows it
as text) or :func:`md_code`; JSON has no raw control characters and no NaN.
"""

from __future__ import annotations

import json
import logging
import math
import re
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from cluster.topics.setaside import set_aside_counts, set_aside_reason
from cluster.topics.similarity import SIMILARITY_NOTE, raw_similarity_range
from cluster.topics.state import FittedTopics as TopicModel
from cluster.topics.views import keywords_by_weight
from embed.errors import InputError
from embed.store.outputs import check_output_file
from embed.store.storage import write_atomic

__all__ = ["report_data", "write_report", "report_format", "md_text", "md_code", "report_json", "REPORT_FORMATS",
           "REPORT_SUFFIXES"]

logger = logging.getLogger(__name__)

REPORT_FORMATS = ("html", "md", "json")
#: File suffixes and the format each one means (no suffix: HTML).
REPORT_SUFFIXES = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md", ".json": "json"}


def report_format(path: str | Path, format: str | None = None) -> str:
    """The report format for ``path``. One rule: a known file suffix names the
    format (:data:`REPORT_SUFFIXES`), and ``format``, when given, must agree
    with it; for a file without a suffix (or with another one) ``format``
    chooses (default, without a suffix: HTML). Raises ValueError naming the supported formats and suffixes for an
    unknown format or suffix, or a format the suffix contradicts, before any
    work is done."""
    supported = ", ".join(REPORT_FORMATS)
    wanted = None
    if format is not None:
        wanted = format.lower().lstrip(".")
        if wanted not in REPORT_FORMATS:
            raise InputError(f"report format {format!r} is not supported; use one of: {supported}")
    suffix = Path(path).suffix.lower()
    if not suffix or (suffix not in REPORT_SUFFIXES and wanted is not None):
        return wanted or "html"
    if suffix not in REPORT_SUFFIXES:
        raise InputError(
            f"cannot write a {suffix} report ({path}): the supported formats are {supported} "
            f"(suffixes {', '.join(REPORT_SUFFIXES)}); the suffix names the format"
        )
    named = REPORT_SUFFIXES[suffix]
    if wanted is not None and wanted != named:
        raise InputError(
            f"--format {wanted} disagrees with {path}: a {suffix} file is {named}; the suffix names the format "
            f"(use a .{'md' if wanted == 'md' else wanted} file, or leave --format out)"
        )
    return named


def _records(frame: Any, columns: list[str]) -> list[dict[str, Any]]:
    return [{c: row[c] for c in columns} for _, row in frame.iterrows()]


def report_data(model: TopicModel, *, title: str | None = None, n_representative: int = 3,
                since: Any = None, stories: Any = None) -> dict[str, Any]:
    """All facts of a report as plain, JSON-serialisable data. ``changes`` is the
    "New since DATE" section (:func:`cluster.report.changes.changes_since`; None when
    the model has no earlier history entry and no ``since`` is given)."""
    from cluster.report.changes import changes_since, story_overview

    index = model.index
    table = model.paragraph_table()
    info = model.topic_info()
    titles = table.drop_duplicates("doc_id").set_index("doc_id")["title"].to_dict()
    flagged = table[~model.fitted_mask_]
    periods = model.topics_over_time()
    topics = []
    for row in info.itertuples():
        topic = int(row.topic)
        reps = model.representative_paragraphs(topic, n=n_representative)
        timeline = periods[periods["topic"] == topic]
        topics.append({
            "topic": topic,
            "label": row.label,
            "size": int(row.size),
            "share": float(row.share),
            "keywords": [{"word": w, "weight": float(s)} for w, s in keywords_by_weight(model.get_topic(topic))],
            "representative": _records(reps, ["id", "doc_id", "title", "text", "score"]),
            "documents": [{"doc_id": d, "title": titles.get(d, "")} for d in row.documents],
            "nearest": [{"topic": t, "label": model.topic_label(t), "similarity": s} for t, s in model.nearest_topics(topic, n=3)],
            "timeline": [{"period": str(p.date()), "count": int(c)} for p, c in zip(timeline["period"], timeline["count"])],
        })
    outliers = table[model.fitted_mask_ & (table["topic"] < 0)]
    hierarchy = model.hierarchy()
    counts = index.info()
    aside = set_aside_counts(table, model.fitted_mask_)
    return {
        "title": title or "Topic report",
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "overview": {
            "sources": list(index.sources),
            "documents": int(counts["documents"]),
            "paragraphs": int(counts["paragraphs"]),
            **aside,  # set_aside = boilerplate + duplicates (not also boilerplate) + empty
            "fitted_paragraphs": int(model.fitted_mask_.sum()),
            "topics": int(model.n_topics_),
            "outliers": len(outliers),
            "outlier_share": float(model.outlier_share_),
            "model": index.model_id,
            "topic_parameters": model.params_,
            "message": getattr(model, "message_", ""),
        },
        "changes": changes_since(model, since=since, stories=stories),
        "stories": story_overview(stories),
        "topics": topics,
        "similarity": _similarity(model),
        "levels": _levels(model, stories),
        "hierarchy": [
            {"parent": int(r.parent), "left": int(r.left), "right": int(r.right), "distance": float(r.distance),
             "topics": [int(t) for t in r.topics]}
            for r in hierarchy.itertuples()
        ],
        "outliers": _records(outliers, ["id", "doc_id", "title", "text"]),
        "set_aside": [
            {"id": r["id"], "doc_id": r["doc_id"], "text": r["text"],
             "reason": set_aside_reason(r),
             "topic": int(r["topic"])}
            for _, r in flagged.iterrows()
        ],
    }


def _levels(model: TopicModel, stories: Any) -> list[dict[str, Any]]:
    """The broad groups above the topics (:func:`cluster.topics.levels.topic_levels`), each with its label,
    keywords, topics and the number of stories told by two or more articles under them; empty below 3 topics."""
    if model.n_topics_ < 3 or getattr(model, "fit_labels_", None) is None:
        return []
    from cluster.topics.levels import topic_levels

    levels = topic_levels(model, stories)
    return [{"broad": int(g), "label": str(rows["broad_label"].iloc[0]), "keywords": list(rows["broad_keywords"].iloc[0]),
             "topics": [int(t) for t in rows["topic"]], "stories": int(rows["n_stories"].sum())}
            for g, rows in levels.groupby("broad", sort=True)]


def _similarity(model: TopicModel) -> dict[str, Any]:
    """The topic similarity matrix and its one-line explanation."""
    raw = raw_similarity_range(model)
    note = SIMILARITY_NOTE
    if raw is not None:
        note += f" (Raw cosines between these topic centres all lie within {raw[0]:.3f}-{raw[1]:.3f}.)"
    matrix = model.topic_similarity().to_numpy() if model.n_topics_ else []
    return {"note": note, "matrix": [[round(float(v), 4) for v in row] for row in matrix]}


def _html(model: TopicModel, data: dict[str, Any]) -> str:
    import plotly.offline

    from cluster.report.figures import hierarchy_figure, paragraph_map, similarity_heatmap, topic_color

    figures: dict[str, str] = {}
    if data["overview"]["fitted_paragraphs"]:
        figures["map"] = paragraph_map(model).to_json()
    if model.n_topics_ >= 2:
        figures["hierarchy"] = hierarchy_figure(model).to_json()
        figures["similarity"] = similarity_heatmap(model).to_json()
    changes, overview = data.get("changes") or {}, data.get("stories") or {}
    timeline = changes.get("stories") or [r for r in overview.get("stories", []) if r["first_date"]]
    if timeline:
        from cluster.report.changes import story_timeline_figure

        figures["stories"] = story_timeline_figure(timeline, since=changes.get("since")).to_json()
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resources.files("cluster.report") / "templates")),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        undefined=jinja2.StrictUndefined,
    )
    env.filters["color"] = topic_color
    env.filters["pct"] = lambda x: f"{100 * x:.1f}%"
    template = env.get_template("report.html.j2")
    return template.render(
        data=data,
        figures={k: json.loads(v) for k, v in figures.items()},
        plotly_js=plotly.offline.get_plotlyjs(),
    )


def _set_aside_text(overview: dict[str, Any]) -> str:
    """"N set aside (B boilerplate, D duplicates[, E empty])": each paragraph counted once."""
    parts = [f"{overview['boilerplate']} boilerplate", f"{overview['duplicates']} duplicate{'' if overview['duplicates'] == 1 else 's'}"]
    if overview["empty"]:
        parts.append(f"{overview['empty']} empty")
    return f"{overview['set_aside']} set aside ({', '.join(parts)})"


#: Characters that start Markdown (CommonMark, GFM, math) syntax inside a line, escaped with a backslash
#: (the block markers ``#``, ``-``, ``+``, ``=``, ``>``, digits only act at the start of a line, where article text never is).
_MD_PUNCT = re.compile(r"([\\`*_\[\]|~$])")
#: Line breaks (CommonMark's and Unicode's) and other control characters: each becomes a space.
_MD_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def md_text(text: Any) -> str:
    """``text`` as Markdown that every renderer shows as this text: one line, ``&``, ``<``, ``>``
    as entities (no raw HTML, no autolinks), and Markdown punctuation backslash-escaped (no
    links, images, emphasis, code spans or table cells from article text)."""
    text = _MD_BREAKS.sub(" ", str(text))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_PUNCT.sub(r"\\\1", text)


def md_code(text: Any) -> str:
    """``text`` as an inline code span (shown verbatim, never as HTML): fenced by one backtick more
    than its longest run of backticks, on one line."""
    text = _MD_BREAKS.sub(" ", str(text))
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _plain_json(value: Any) -> Any:
    """``value`` with NaN and infinities as None (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_json(v) for v in value]
    return value


_JSON_CONTROLS = re.compile("[\x7f-\x9f\u2028\u2029]")


def report_json(data: dict[str, Any]) -> str:
    """The report data as JSON: valid (no NaN), every control character escaped (``\\uXXXX``)."""
    text = json.dumps(_plain_json(data), ensure_ascii=False, indent=2, default=str, allow_nan=False)
    return _JSON_CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _markdown(data: dict[str, Any]) -> str:
    cell = md_text

    o = data["overview"]
    lines = [f"# {cell(data['title'])}", "", f"Generated {cell(data['generated_at'])}.", ""]
    lines += [
        "## Overview", "",
        f"- Sources: {', '.join(cell(s) for s in o['sources'])}",
        f"- Documents: {o['documents']}",
        f"- Paragraphs: {o['paragraphs']} = {o['fitted_paragraphs']} modelled + {_set_aside_text(o)}",
        f"- Topics: {o['topics']}; outliers: {o['outliers']} ({100 * o['outlier_share']:.1f}%)",
        f"- Embedding model: {md_code(o['model'])}",
        f"- Topic parameters: {md_code(json.dumps(o['topic_parameters'], ensure_ascii=False, default=str))}",
    ]
    if o["message"]:
        lines.append(f"- Note: {cell(o['message'])}")
    lines += _changes_markdown(data.get("changes"), cell)
    lines += _stories_markdown(data.get("stories"), cell)
    lines += ["", "## Topics", "", "| topic | label | size | share | keywords |", "|---:|---|---:|---:|---|"]
    for t in data["topics"]:
        words = ", ".join(k["word"] for k in t["keywords"][:8])
        lines.append(f"| {t['topic']} | {cell(t['label'])} | {t['size']} | {100 * t['share']:.1f}% | {cell(words)} |")
    for t in data["topics"]:
        lines += ["", f"### Topic {t['topic']}: {cell(t['label'])}", ""]
        lines.append("Keywords: " + ", ".join(f"{cell(k['word'])} ({k['weight']:.3f})" for k in t["keywords"]))
        lines += ["", "Representative paragraphs:", ""]
        lines += [f"- ({p['score']:.3f}) *{cell(p['title'])}* — {cell(p['text'])}" for p in t["representative"]]
        lines += ["", "Documents: " + "; ".join(cell(d["title"] or d["doc_id"]) for d in t["documents"])]
        if t["nearest"]:
            lines.append("Nearest topics (similarity, see [Topic similarity](#topic-similarity)): "
                         + ", ".join(f"{n['topic']} {cell(n['label'])} ({n['similarity']:.3f})" for n in t["nearest"]))
        if t["timeline"]:
            lines.append("Timeline: " + ", ".join(f"{cell(p['period'])}: {p['count']}" for p in t["timeline"]))
    sims = data["similarity"]["matrix"]
    if len(sims) >= 2:
        lines += ["", "## Topic similarity", "", cell(data["similarity"]["note"]), ""]
        lines += ["| topic | " + " | ".join(str(t) for t in range(len(sims))) + " |", "|---:|" + "---:|" * len(sims)]
        lines += [f"| {i} | " + " | ".join(f"{v:.3f}" for v in row) + " |" for i, row in enumerate(sims)]
    if data.get("levels"):
        lines += ["", "## Broad groups of topics", ""]
        lines += [f"- {cell(g['label'])} ({cell(', '.join(g['keywords'][:4]))}): topics "
                  f"{', '.join(str(t) for t in g['topics'])}; {g['stories']} stories told by several articles"
                  for g in data["levels"]]
    if data["hierarchy"]:
        lines += ["", "## Topic hierarchy", ""]
        lines += [f"- node {h['parent']} = {h['left']} + {h['right']} (distance {h['distance']:.3f}; topics {h['topics']})"
                  for h in data["hierarchy"]]
    lines += ["", f"## Outliers ({len(data['outliers'])})", ""]
    lines += [f"- {md_code(p['id'])} {cell(p['text'])}" for p in data["outliers"]]
    lines += ["", f"## Set aside: boilerplate and duplicates ({o['set_aside']})", "", f"{_set_aside_text(o)}.", ""]
    lines += [f"- {md_code(p['id'])} \\[{cell(p['reason'])}\\] {cell(p['text'])}" for p in data["set_aside"]]
    return "\n".join(lines) + "\n"


def _stories_markdown(overview: dict[str, Any] | None, cell: Any) -> list[str]:
    """The "Stories" section as Markdown lines (none without a story model)."""
    if not overview:
        return []
    lines = ["", f"## Stories ({len(overview['stories'])} told by two or more articles; "
             f"{overview['n_single']} articles stand alone)", ""]
    if not overview["stories"]:
        return [*lines, "None."]
    lines += ["| story | headline | articles | dates | sources | topic |", "|---:|---|---:|---|---|---:|"]
    for s in overview["stories"]:
        dates = cell(f"{s['first_date'][:10]} – {(s['last_date'] or s['first_date'])[:10]}") if s["first_date"] else "undated"
        topic = "" if s["topic"] is None else s["topic"]
        lines.append(f"| {s['story']} | {cell(s['headline'])} | {s['n_articles']} | {dates} | "
                     f"{cell(', '.join(s['sources']))} | {topic} |")
    return lines


def _changes_markdown(changes: dict[str, Any] | None, cell: Any) -> list[str]:
    """The "New since DATE" section as Markdown lines (none without changes)."""
    if not changes:
        return []
    lines = ["", f"## New since {cell(changes['since'] or 'the first fit')}", "", "### New topics", ""]
    lines += [f"- {t['topic']}: {cell(t['label'])} ({t['size']} paragraphs; {cell(', '.join(t['keywords']))})"
              for t in changes["new_topics"]] or ["None."]
    lines += ["", "### Growing topics", ""]
    if changes["growing"]:
        lines += ["| topic | label | then | now | growth |", "|---:|---|---:|---:|---:|"]
        lines += [f"| {g['topic']} | {cell(g['label'])} | {g['before']} | {g['now']} | +{g['growth']} |" for g in changes["growing"]]
    else:
        lines.append("None.")
    if changes["new_stories"] is not None:
        lines += ["", "### New stories", ""]
        lines += [f"- {s['story']}: {cell(s['headline'])} ({s['n_articles']} articles, {cell(s['first_date'][:10])} – "
                  f"{cell((s['last_date'] or s['first_date'])[:10])}; {cell(', '.join(s['sources']))})"
                  for s in changes["new_stories"]] or ["None."]
        if changes["new_single_article_stories"]:
            lines.append(f"- and {changes['new_single_article_stories']} new stories told by one article")
    if changes["stories"]:
        lines += ["", "### Story timeline", ""]
        lines += [f"- {s['story']}: {cell(s['headline'])}: {cell(', '.join(d[:10] for d in s['dates'] or [s['first_date']]))}"
                  for s in sorted(changes["stories"], key=lambda s: (s["first_date"], s["story"]))]
    return lines


def write_report(
    model: TopicModel, path: str | Path, *, format: str | None = None, title: str | None = None,
    since: Any = None, stories: Any = None,
) -> Path:
    """Write a topic report to ``path`` atomically.

    Args:
        model: a fitted topic model.
        path: output file.
        format: ``"html"`` (one self-contained file), ``"md"`` or ``"json"``;
            a known file suffix names it (see :func:`report_format`); an
            unknown format or suffix, or one that disagrees, raises ValueError.
            A path inside an index folder, or a directory, raises InputError
            (:func:`embed.store.outputs.check_output_file`).
        title: the report's title.
        since: a date for the "New since DATE" section (default: the
            model's previous update, when it has one).
        stories: a :class:`cluster.stories.model.StoryModel` for new stories and the story timeline.
    """
    path = Path(path)
    fmt = report_format(path, format)
    check_output_file(path)
    data = report_data(model, title=title, since=since, stories=stories)
    if fmt == "json":
        text = report_json(data)
    elif fmt == "md":
        text = _markdown(data)
    else:
        text = _html(model, data)
    write_atomic(path, text.encode("utf-8"))
    logger.info("wrote %s report to %s", fmt, path)
    return path

"""Interactive figures (plotly) of a fitted :class:`~cluster.topics.model.TopicModel`:
the paragraph map, keyword bars, topic similarity heatmap, topic hierarchy
and topics over time. Each returns a ``plotly.graph_objects.Figure`` that
shows inline in Jupyter and is embedded in the HTML report.

Article text is untrusted: every string that plotly renders is HTML-escaped
first (``<``, ``>``, ``&`` only: plotly's text renderer does not decode
``&quot;``, so quotes stay as they are and show as quotes).
"""

from __future__ import annotations

import html
import textwrap

import plotly.graph_objects as go

from cluster.topics.state import FittedTopics as TopicModel
from cluster.topics.views import keywords_by_weight

__all__ = ["paragraph_map", "keyword_bars", "similarity_heatmap", "hierarchy_figure", "topics_over_time_figure"]

PALETTE = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf",
    "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1",
]
OUTLIER_COLOR = "#b0b0b0"


def _escape(text: object) -> str:
    """Text safe for plotly's HTML subset: ``<``, ``>``, ``&`` escaped; quotes kept (plotly shows ``&quot;`` as is)."""
    return html.escape(str(text), quote=False)


def topic_color(topic: int) -> str:
    """The colour of a topic (grey for outliers), the same in every figure."""
    return OUTLIER_COLOR if topic < 0 else PALETTE[topic % len(PALETTE)]


def _safe(text: object, width: int = 80, limit: int = 400) -> str:
    """Escape for plotly (which renders a subset of HTML) and wrap with <br>."""
    text = str(text or "")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return "<br>".join(_escape(line) for line in textwrap.wrap(text, width) or [""])


def paragraph_map(model: TopicModel, *, include_flagged: bool = False, height: int = 560) -> go.Figure:
    """Scatter of every paragraph on the 2-D map, coloured by topic; outliers
    dimmed; paragraph text, document title and topic on hover."""
    table = model.paragraph_table()
    if not include_flagged:
        table = table[model.fitted_mask_]
    fig = go.Figure()
    topics = sorted(set(table["topic"].astype(int)), key=lambda t: (t < 0, t))
    for topic in topics:
        part = table[table["topic"] == topic]
        hover = [
            f"<b>{_safe(label, 60)}</b><br><i>{_safe(title, 80, 120)}</i><br>{_safe(text)}<br><span>{_escape(pid)}</span>"
            for label, title, text, pid in zip(part["topic_label"], part["title"], part["text"], part["id"])
        ]
        name = "outliers" if topic < 0 else f"{topic}: {model.topic_label(topic)}"
        fig.add_trace(
            go.Scatter(
                x=part["x"], y=part["y"], mode="markers", name=_escape(name[:50]),
                marker={"size": 7 if topic >= 0 else 5, "color": topic_color(topic),
                        "opacity": 0.85 if topic >= 0 else 0.35, "line": {"width": 0}},
                hovertext=hover, hoverinfo="text",
            )
        )
    fig.update_layout(
        height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10}, template="plotly_white",
        xaxis={"visible": False}, yaxis={"visible": False}, legend={"itemsizing": "constant", "font": {"size": 11}},
        hoverlabel={"align": "left"}, title={"text": "Paragraph map", "x": 0.01},
    )
    return fig


def keyword_bars(model: TopicModel, topic: int, *, n: int = 10) -> go.Figure:
    """Horizontal bars of a topic's ``n`` heaviest keywords and their c-TF-IDF
    weights, the highest at the top (the data run in weight order; the y axis
    is reversed so the first bar is drawn at the top)."""
    words = keywords_by_weight(model.get_topic(topic))[:n]
    fig = go.Figure(
        go.Bar(
            x=[w for _, w in words], y=[_escape(k) for k, _ in words], orientation="h",
            marker_color=topic_color(topic),
        )
    )
    fig.update_layout(
        height=40 + 24 * max(len(words), 1), margin={"l": 10, "r": 10, "t": 30, "b": 10}, template="plotly_white",
        title={"text": _escape(f"{topic}: {model.topic_label(topic)}"), "x": 0.01}, yaxis={"autorange": "reversed"},
    )
    return fig


def similarity_heatmap(model: TopicModel) -> go.Figure:
    """Similarity between topics (:meth:`~cluster.topics.model.TopicModel.topic_similarity`:
    cosine between topic centres after subtracting the collection's mean),
    on a diverging scale from -1 (apart) through 0 to 1."""
    sims = model.topic_similarity()
    labels = [_escape(f"{t}: {model.topic_label(t)}"[:40]) for t in sims.index]
    fig = go.Figure(go.Heatmap(
        z=sims.to_numpy(), x=labels, y=labels, colorscale="RdBu", reversescale=True, zmin=-1, zmax=1, zmid=0,
        hovertemplate="%{y}<br>%{x}<br>similarity %{z:.3f}<extra></extra>",
    ))
    fig.update_layout(height=200 + 22 * len(labels), template="plotly_white", margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      title={"text": "Topic similarity (cosine after removing the collection's mean)", "x": 0.01})
    return fig


def hierarchy_figure(model: TopicModel) -> go.Figure:
    """Dendrogram of topic centres (average linkage on cosine distance)."""
    tree = model.hierarchy()
    k = model.n_topics_
    fig = go.Figure()
    if tree.empty:
        fig.update_layout(title={"text": "Topic hierarchy (needs two or more topics)", "x": 0.01})
        return fig
    # leaf order from the tree, then draw each merge as a bracket
    order: list[int] = []

    def walk(node: int) -> None:
        if node < k:
            order.append(node)
            return
        row = tree[tree["parent"] == node].iloc[0]
        walk(int(row["left"]))
        walk(int(row["right"]))

    walk(int(tree["parent"].max()))
    pos = {t: float(i) for i, t in enumerate(order)}
    height = {t: 0.0 for t in order}
    for row in tree.itertuples():
        left, right = int(row.left), int(row.right)
        x0, x1, h = height[left], height[right], float(row.distance)
        y0, y1 = pos[left], pos[right]
        fig.add_trace(go.Scatter(x=[x0, h, h, x1], y=[y0, y0, y1, y1], mode="lines", line={"color": "#555"},
                                 hoverinfo="text", hovertext=f"distance {h:.3f}", showlegend=False))
        pos[int(row.parent)] = (y0 + y1) / 2
        height[int(row.parent)] = h
    fig.update_layout(
        height=120 + 26 * k, template="plotly_white", title={"text": "Topic hierarchy", "x": 0.01},
        yaxis={"tickvals": [pos[t] for t in order], "ticktext": [_escape(f"{t}: {model.topic_label(t)}"[:45]) for t in order]},
        xaxis={"title": "cosine distance between topic centres"}, margin={"l": 10, "r": 10, "t": 40, "b": 40},
    )
    return fig


def topics_over_time_figure(model: TopicModel, *, freq: str = "D") -> go.Figure:
    """Paragraphs per topic and period; an empty figure when there are no dates."""
    frame = model.topics_over_time(freq=freq)
    fig = go.Figure()
    for topic, part in frame.groupby("topic"):
        fig.add_trace(go.Scatter(x=part["period"], y=part["count"], mode="lines+markers",
                                 name=_escape(f"{topic}: {model.topic_label(int(topic))}"[:45]),
                                 line={"color": topic_color(int(topic))}))
    title = "Topics over time" if len(frame) else "Topics over time (no dates in the input)"
    fig.update_layout(template="plotly_white", title={"text": title, "x": 0.01}, height=380,
                      margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig

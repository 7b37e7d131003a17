"""Topic tables for Jupyter (HTML) and the terminal (rich)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import pandas as pd

from cluster.topics.state import FittedTopics as TopicModel

__all__ = ["topic_table_html", "topic_table_rich", "topic_details_text", "TopicView", "keywords_by_weight",
           "topic_info_table", "paragraph_table", "TOPIC_INFO_COLUMNS"]

TOPIC_INFO_COLUMNS = ["topic", "label", "size", "share", "keywords", "n_documents", "documents"]

_SHOWN_KEYWORDS = 8


def keywords_by_weight(pairs: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
    """``(word, weight)`` pairs, highest weight first (ties keep their order):
    how keywords are shown wherever their weights are."""
    return sorted(pairs, key=lambda pair: -float(pair[1]))


def topic_info_table(model: TopicModel) -> pd.DataFrame:
    """One row per topic, largest first: :data:`TOPIC_INFO_COLUMNS` (no row for outliers)."""
    n_fit = max(int(model.fitted_mask_.sum()), 1)
    doc_ids = model.index.paragraphs["doc_id"].astype(str).to_numpy()
    rows = []
    for t in range(model.n_topics_):
        size = int((model.fit_labels_ == t).sum())
        docs = sorted(set(doc_ids[model.labels_ == t].tolist()))
        rows.append({
            "topic": t, "label": model.topic_label(t), "size": size, "share": size / n_fit,
            "keywords": [w for w, _ in model.keywords_.get(t, [])], "n_documents": len(docs), "documents": docs,
        })
    frame = pd.DataFrame(rows, columns=TOPIC_INFO_COLUMNS)
    if len(frame):
        frame = frame.sort_values(["size", "topic"], ascending=[False, True], kind="stable").reset_index(drop=True)
    return frame


def paragraph_table(model: TopicModel) -> pd.DataFrame:
    """The index's paragraphs with topic, topic_label, x and y."""
    out = model.index.paragraphs.copy()
    out["topic"] = model.labels_
    labels = {t: model.topic_label(t) for t in range(model.n_topics_)}
    out["topic_label"] = [labels.get(int(t), "outlier") for t in model.labels_]
    out["x"], out["y"] = model.embedding_2d_[:, 0], model.embedding_2d_[:, 1]
    return out


def _caption(model: TopicModel) -> str:
    n_fit = int(model.fitted_mask_.sum())
    if not model.n_topics_:
        return f"TopicModel: {model.message_}"
    return (
        f"TopicModel: {model.n_topics_} topics over {n_fit} paragraphs "
        f"({100 * model.outlier_share_:.1f}% outliers)"
    )


def topic_table_html(model: TopicModel) -> str:
    """An HTML table: topic, label, size, share, keywords."""
    if not hasattr(model, "labels_"):
        return "<p>TopicModel (not fitted)</p>"
    rows = []
    for row in model.topic_info().itertuples(index=False):
        rows.append(
            f"<tr><td>{row.topic}</td><td style='text-align:left'>{html.escape(row.label)}</td>"
            f"<td>{row.size}</td><td>{100 * row.share:.1f}%</td>"
            f"<td style='text-align:left'>{html.escape(', '.join(row.keywords[:_SHOWN_KEYWORDS]))}</td></tr>"
        )
    head = "<tr><th>topic</th><th>label</th><th>size</th><th>share</th><th>keywords</th></tr>"
    return (
        f"<table class='paratopic-topics'><caption>{html.escape(_caption(model))}</caption>"
        f"<thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"
    )


def topic_table_rich(model: TopicModel) -> Any:
    """A ``rich.table.Table`` of the topics (labels and keywords as plain text, never parsed as rich markup)."""
    from rich.table import Table
    from rich.text import Text

    if not hasattr(model, "labels_"):
        return "TopicModel (not fitted)"
    table = Table(title=Text(_caption(model), style="italic"))
    for name, justify in (("topic", "right"), ("label", "left"), ("size", "right"), ("share", "right"), ("keywords", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in model.topic_info().itertuples(index=False):
        table.add_row(str(row.topic), Text(str(row.label)), str(row.size), f"{100 * row.share:.1f}%",
                      Text(", ".join(row.keywords[:_SHOWN_KEYWORDS])))
    return table


def topic_details_text(model: TopicModel, topic: int, *, n_paragraphs: int = 3, width: int = 160) -> str:
    """Plain-text details of one topic: keywords with weights, representative paragraphs."""
    lines = [f"Topic {topic}: {model.topic_label(topic)}"]
    lines.append("  keywords: " + ", ".join(f"{w} ({s:.3f})" for w, s in keywords_by_weight(model.get_topic(topic))))
    for para in model.representative_paragraphs(topic, n=n_paragraphs).itertuples(index=False):
        text = para.text if len(para.text) <= width else para.text[: width - 1] + "…"
        lines.append(f"  [{para.score:.3f}] {para.id}: {text}")
    return "\n".join(lines)


class TopicView:
    """One topic as it shows in Jupyter (HTML: keyword bars and representative
    paragraphs) and in the terminal (rich); ``str()`` gives plain text."""

    def __init__(self, model: TopicModel, topic: int, n_paragraphs: int = 3) -> None:
        self.model = model
        self.topic = topic
        self.n_paragraphs = n_paragraphs

    @property
    def label(self) -> str:
        return self.model.topic_label(self.topic)

    @property
    def keywords(self) -> list[tuple[str, float]]:
        """The topic's keywords with their weights, highest weight first."""
        return keywords_by_weight(self.model.get_topic(self.topic))

    def __str__(self) -> str:
        return topic_details_text(self.model, self.topic, n_paragraphs=self.n_paragraphs)

    def __repr__(self) -> str:
        return f"TopicView(topic={self.topic}, label={self.label!r})"

    def _repr_html_(self) -> str:
        words = self.keywords
        top = max((w for _, w in words), default=1.0) or 1.0
        bars = "".join(
            f"<tr><td style='text-align:left'>{html.escape(word)}</td>"
            f"<td style='text-align:left'><div style='background:#1f77b4;height:10px;width:{160 * weight / top:.0f}px'>"
            f"</div></td><td>{weight:.3f}</td></tr>"
            for word, weight in words
        )
        reps = self.model.representative_paragraphs(self.topic, n=self.n_paragraphs)
        quotes = "".join(
            f"<blockquote style='margin:4px 0'>{html.escape(r.text)}<br><small>{html.escape(r.title or r.doc_id)} · "
            f"<code>{html.escape(r.id)}</code> · {r.score:.3f}</small></blockquote>"
            for r in reps.itertuples()
        )
        size = int((self.model.labels_ == self.topic).sum())
        return (
            f"<div class='paratopic-topic'><h4>Topic {self.topic}: {html.escape(self.label)} ({size} paragraphs)</h4>"
            f"<table>{bars}</table>{quotes}</div>"
        )

    def __rich__(self) -> Any:
        from rich.text import Text

        return Text(str(self))

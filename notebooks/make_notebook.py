"""Writes explore.ipynb (without outputs). Edit the cells here, then run
`python notebooks/make_notebook.py`; the tests execute the notebook."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

CELLS = [
    new_markdown_cell(
        "# Exploring news paragraphs with paratopic\n\n"
        "This notebook walks through the five seed articles: read them, see what was flagged and why, "
        "build a similarity index, look up paragraphs for a Vietnamese and an English query, fit topics, "
        "look at the map and the topics, and write a report. Everything runs offline."
    ),
    new_code_cell(
        "from pathlib import Path\n\n"
        "import plotly.io as pio\n\n"
        "from cluster import TopicModel, write_report\n"
        "from cluster.report import (\n"
        "    hierarchy_figure,\n"
        "    keyword_bars,\n"
        "    paragraph_map,\n"
        "    similarity_heatmap,\n"
        "    topics_over_time_figure,\n"
        ")\n"
        "from embed import ParagraphIndex, read_corpus\n\n"
        'pio.renderers.default = "notebook"  # figures carry plotly.js inline: they show offline\n'
        'ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "seeds").is_dir())\n'
        'OUT = ROOT / "out" / "notebook"\n'
        "ROOT"
    ),
    new_markdown_cell("## 1. Read the articles\nOne row per paragraph, with a stable id `<document>:<position>`. Text is NFC-normalised."),
    new_code_cell(
        'corpus = read_corpus(ROOT / "seeds")\n'
        'print(f"{corpus.doc_id.nunique()} documents, {len(corpus)} paragraphs")\n'
        'corpus[["id", "title", "text"]].head()'
    ),
    new_markdown_cell(
        "## 2. What was flagged, and why\nScraped news carries share buttons, follow-us lines, related-article lists "
        "and captions. They are flagged, not deleted: kept in the table, but left out of search results and topics."
    ),
    new_code_cell(
        'print("boilerplate:", int(corpus.boilerplate.sum()), " duplicates:", int(corpus.duplicate_of.notna().sum()))\n'
        'corpus.boilerplate_reason.value_counts()'
    ),
    new_code_cell('corpus.loc[corpus.boilerplate, ["id", "boilerplate_reason", "text"]].drop_duplicates("boilerplate_reason")'),
    new_markdown_cell("## 3. Build the index\nThe bundled multilingual-e5-small embeds each distinct paragraph once; FAISS holds the vectors."),
    new_code_cell("index = ParagraphIndex.build(corpus, show_progress=True)\nindex"),
    new_markdown_cell("## 4. Look up similar paragraphs\nA Vietnamese query, an English one (the model is multilingual), and \"more like this\" for a paragraph id."),
    new_code_cell('index.search("Triều Tiên phóng tên lửa đạn đạo liên lục địa", k=3)'),
    new_code_cell('index.search("North Korea launched an intercontinental ballistic missile", k=3)'),
    new_code_cell('index.similar("000_bafd0c5b1fa3f0f2:8", k=3, other_documents=True)'),
    new_markdown_cell("## 5. Topics\nUMAP + HDBSCAN over the stored vectors; keywords from Vietnamese word segmentation (compound words stay whole)."),
    new_code_cell("topics = TopicModel(random_state=0).fit(index)\ntopics"),
    new_code_cell("topics.topic_info()"),
    new_code_cell(
        "largest = int(topics.topic_info().topic.iloc[0])\n"
        "print(topics.get_topic(largest))\n"
        "topics.representative_paragraphs(largest, n=2)"
    ),
    new_code_cell("topics.topic(largest)  # one topic: keyword bars and representative paragraphs"),
    new_markdown_cell("## 6. Figures\nThe map (hover for the paragraph), keyword bars, topic similarity, the hierarchy, and topics over time (empty here: the seeds carry no dates)."),
    new_code_cell("paragraph_map(topics)"),
    new_code_cell("keyword_bars(topics, largest)"),
    new_code_cell("similarity_heatmap(topics)"),
    new_code_cell("hierarchy_figure(topics)"),
    new_code_cell("topics_over_time_figure(topics)"),
    new_markdown_cell(
        "## 7. Stories\nWhich articles report the same event, across outlets: paragraph vectors matched article to "
        "article, shared rare words, and dates when there are any. The five seeds are five different events about "
        "Russia and North Korea (2017-2023), so each article is a story of its own; on a news feed a story gathers "
        "the outlets that reported it (`benchmarks/results/stories.md`)."
    ),
    new_code_cell(
        "from cluster import StoryModel\n\n"
        "stories = StoryModel().fit(index, topics=topics)\n"
        "stories.story_info()"
    ),
    new_markdown_cell(
        "### Levels: broad groups, topics, stories\nThe topic tree cut where its merge distances jump most gives a "
        "broad level above the topics, labelled from all its topics' paragraphs; each story sits under the topic "
        "that holds most of its paragraphs (`benchmarks/results/levels.md` measures it on 20 Newsgroups and ViMs). "
        "On the seeds the five topics (one per article) fall into fewer broad groups."
    ),
    new_code_cell(
        "from cluster.topics import topic_levels\n\n"
        "topic_levels(topics, stories)[[\"broad\", \"broad_label\", \"topic\", \"label\", \"stories\"]]"
    ),
    new_markdown_cell("## 8. Save and report\nThe index and the topic model save as folders (no pickle); the report is one HTML file to share."),
    new_code_cell(
        'index.save(OUT / "index")\n'
        'topics.save(OUT / "topics", index_dir=OUT / "index")\n'
        'report = write_report(topics, OUT / "report.html", title="Seed articles")\n'
        'print(report, f"{report.stat().st_size / 1e6:.1f} MB")'
    ),
    new_markdown_cell(
        "## 9. The explorer, in this notebook\n`paratopic.explore(index, topics, stories)` shows the map, a search "
        "box and the results in the cell (the app `paratopic serve` runs, on a free local port in the background; "
        "hover a point for its text, click it or a hit to open the paragraph). It takes a saved folder too: "
        "`paratopic.explore(OUT / \"index\")`. `view.close()` stops it; so does the end of the kernel."
    ),
    new_code_cell(
        "import paratopic\n\n"
        "view = paratopic.explore(index, topics, stories)\n"
        "view"
    ),
    new_code_cell(
        "import json\n"
        "from urllib.parse import quote\n\n"
        "# the same server answers the API: what the search box shows for a Vietnamese query\n"
        'first = json.loads(view.get("api/search?k=3&q=" + quote("Triều Tiên phóng tên lửa đạn đạo liên lục địa")))["groups"][0]\n'
        'print(json.loads(view.get("api/status"))["paragraphs"], "paragraphs served;", first["text"])'
    ),
    new_code_cell("view.close()"),
]


def main() -> None:
    notebook = new_notebook(cells=CELLS)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    nbformat.write(notebook, Path(__file__).with_name("explore.ipynb"))


if __name__ == "__main__":
    main()

from __future__ import annotations

import nbformat
import pytest
from conftest import REPO

NOTEBOOK = REPO / "notebooks" / "explore.ipynb"


def _text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", ""))
        data = out.get("data", {})
        parts.append(data.get("text/plain", ""))
        parts.append(data.get("text/html", ""))
    return "\n".join(parts)


def test_committed_notebook_has_no_stale_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code")


def test_exploration_notebook_runs_top_to_bottom(tmp_path):
    pytest.importorskip("ipykernel")
    from nbclient import NotebookClient

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    by_source = {c.source.splitlines()[0]: _text(c) for c in code}
    assert "5 documents" in by_source['corpus = read_corpus(ROOT / "seeds")']
    assert "Hwasong-15" in by_source['index.search("Triều Tiên phóng tên lửa đạn đạo liên lục địa", k=3)']
    assert "Hwasong-15" in by_source['index.search("North Korea launched an intercontinental ballistic missile", k=3)']
    assert "<table" in by_source["topics.topic_info()"]
    assert "<table" in by_source["from cluster.stories import StoryModel"] and "headline" in by_source["from cluster.stories import StoryModel"]
    assert "paratopic-topic" in by_source["topics.topic(largest)  # one topic: keyword bars and representative paragraphs"]
    assert any("application/vnd.plotly.v1+json" in o.get("data", {}) or "text/html" in o.get("data", {})
               for o in next(c for c in code if c.source == "paragraph_map(topics)").outputs)
    assert (REPO / "out" / "notebook" / "report.html").stat().st_size > 100_000

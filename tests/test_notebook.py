from __future__ import annotations

import nbformat
import pytest
from conftest import REPO, SEEDS

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

    # The notebook finds its ROOT as the first folder above the working directory that has seeds/, and writes
    # under ROOT / "out": run it, unchanged, in a temporary ROOT whose seeds/ is the repository's.
    (tmp_path / "seeds").symlink_to(SEEDS, target_is_directory=True)
    (tmp_path / "notebooks").mkdir()
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path / "notebooks")}}).execute()
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    by_source = {c.source.splitlines()[0]: _text(c) for c in code}
    assert "5 documents" in by_source['corpus = read_corpus(ROOT / "seeds")']
    assert "Hwasong-15" in by_source['index.search("Triều Tiên phóng tên lửa đạn đạo liên lục địa", k=3)']
    assert "Hwasong-15" in by_source['index.search("North Korea launched an intercontinental ballistic missile", k=3)']
    assert "<table" in by_source["topics.topic_info()"]
    assert "<table" in by_source["from cluster import StoryModel"] and "headline" in by_source["from cluster import StoryModel"]
    assert "paratopic-topic" in by_source["topics.topic(largest)  # one topic: keyword bars and representative paragraphs"]
    assert any("application/vnd.plotly.v1+json" in o.get("data", {}) or "text/html" in o.get("data", {})
               for o in next(c for c in code if c.source == "paragraph_map(topics)").outputs)
    view = by_source["import paratopic"]  # the explorer in a cell: an iframe of the running app's /explore page
    assert '<iframe class="paratopic-explorer" src="http://127.0.0.1:' in view and '/explore"' in view
    served = by_source["import json"]  # that server answered the API from inside the kernel
    assert "paragraphs served;" in served and "Hwasong" in served
    assert str(tmp_path) in by_source["from pathlib import Path"]  # ROOT: the temporary folder
    out = tmp_path / "out" / "notebook"
    assert (out / "report.html").stat().st_size > 100_000  # written by this run: tmp_path starts empty
    assert (out / "index").is_dir() and (out / "topics").is_dir()

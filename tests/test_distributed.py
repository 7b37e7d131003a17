"""The distributed build on a real Ray cluster of two processes on this machine.

A head node and a second worker node are started with ``ray start`` (bound
to 127.0.0.1, one CPU each, their own temp folder) so that work crosses
process boundaries; the cluster is stopped at the end. Skipped when Ray is
not installed (the ``paratopic[ray]`` extra).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("ray")
pytest.importorskip("ray.data")

from conftest import EVAL, SEEDS  # noqa: E402

from embed import ParagraphIndex, read_corpus  # noqa: E402

VNTC = EVAL / "vntc" / "vntc_test_1000perclass.jsonl"
RAY = str(Path(sys.executable).with_name("ray"))
QUERIES = ["Triều Tiên phóng tên lửa đạn đạo", "Hội nghị thượng đỉnh Mỹ - Triều tại Hà Nội", "Nga và Trung Quốc"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    """``ray start ... --block`` in its own process group: stopping that group stops exactly this node."""
    return subprocess.Popen([RAY, "start", *args, "--block"], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _stop(proc: subprocess.Popen) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):  # SIGTERM drains for up to 30 s
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    """A two-node Ray cluster on 127.0.0.1 (a head and a worker node, one CPU
    each); this process joins it."""
    import ray

    temp = tmp_path_factory.mktemp("ray")
    port = _free_port()
    saved = {k: os.environ.get(k) for k in ("RAY_USAGE_STATS_ENABLED", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN")}
    os.environ.update(RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="disabled")  # nodes bound to 127.0.0.1
    env = dict(os.environ)
    common = ["--num-cpus=1", f"--temp-dir={temp}", "--disable-usage-stats", "--node-ip-address=127.0.0.1"]
    address = f"127.0.0.1:{port}"
    nodes = [_start(["--head", f"--port={port}", "--include-dashboard=false", "--object-store-memory=300000000", *common], env)]
    try:
        deadline = time.time() + 120
        while time.time() < deadline:  # the head is up when `ray status` answers
            if subprocess.run([RAY, "status", f"--address={address}"], env=env, capture_output=True).returncode == 0:
                break
            time.sleep(1)
        nodes.append(_start([f"--address={address}", "--object-store-memory=200000000", *common], env))
        ray.init(address=address, log_to_driver=False)
        while len([n for n in ray.nodes() if n["Alive"]]) < 2 and time.time() < deadline:
            time.sleep(0.5)
        assert len([n for n in ray.nodes() if n["Alive"]]) == 2, "the worker node did not join"
        yield address
    finally:
        ray.shutdown()
        for node in reversed(nodes):
            _stop(node)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _plain(table: pd.DataFrame) -> pd.DataFrame:
    """The flag columns as a loaded index holds them (object, None for no value): pandas may
    infer str with NaN for them in one process and object with None in another."""
    table = table.astype({"boilerplate_reason": object, "duplicate_of": object})
    return table.where(table.notna(), None)


def _same_index(single: ParagraphIndex, distributed: ParagraphIndex, ignore: tuple[str, ...] = ()) -> None:
    pd.testing.assert_frame_equal(_plain(single.paragraphs.drop(columns=list(ignore))),
                                  _plain(distributed.paragraphs.drop(columns=list(ignore))))
    cosines = (single.vectors * distributed.vectors).sum(axis=1)
    assert cosines.min() >= 0.9999
    for a, b in zip(single.search(QUERIES, k=5, duplicates="show").to_frame().groupby("query", sort=False)["id"],
                    distributed.search(QUERIES, k=5, duplicates="show").to_frame().groupby("query", sort=False)["id"]):
        assert list(a[1]) == list(b[1])


def test_seeds_build_equals_single_machine_build(cluster, seed_index, tmp_path):
    from cluster import TopicModel
    from embed.distributed.build import build_distributed

    index = build_distributed(SEEDS, address=cluster, cache=tmp_path / "emb.sqlite", spill_dir=tmp_path / "spill")
    assert index.distributed_report.workers == 2
    assert isinstance(index.vectors.base, np.memmap)  # assembled on disk (embed.store.spill), not in the driver's RAM
    assert list((tmp_path / "spill").iterdir()) == []
    assert index.stats.embedded == seed_index.paragraphs["duplicate_of"].isna().sum()
    _same_index(seed_index, index)
    index.save(tmp_path / "idx")
    loaded = ParagraphIndex.load(tmp_path / "idx")
    _same_index(seed_index, loaded)
    assert json.loads((tmp_path / "idx" / "manifest.json").read_text())["counts"]["paragraphs"] == len(seed_index)
    a = TopicModel(random_state=0).fit(seed_index).labels_
    b = TopicModel(random_state=0).fit(loaded).labels_
    assert (a == b).all()


@pytest.mark.slow
def test_rerun_embeds_nothing(cluster, tmp_path):
    from embed.distributed.build import build_distributed

    first = build_distributed(SEEDS, address=cluster, cache=tmp_path / "emb.sqlite")
    again = build_distributed(SEEDS, address=cluster, cache=tmp_path / "emb.sqlite")
    assert first.stats.embedded > 0
    assert again.stats.embedded == 0 and again.stats.from_cache == first.stats.embedded


@pytest.mark.slow
def test_cli_index_with_ray(cluster, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from paratopic.cli import app

    monkeypatch.setenv("RAY_ADDRESS", cluster)
    out = tmp_path / "idx"
    result = CliRunner().invoke(app, ["index", str(SEEDS), "--out", str(out), "--ray", "auto"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "manifest.json").read_text())["counts"]["paragraphs"] == 128
    result = CliRunner().invoke(app, ["search", str(out), QUERIES[0], "-k", "3"])
    assert result.exit_code == 0, result.output
    again = CliRunner().invoke(app, ["index", str(SEEDS), "--out", str(out), "--ray", "auto"])  # adds: all known
    assert again.exit_code == 0, again.output
    assert json.loads((out / "manifest.json").read_text())["counts"]["paragraphs"] == 128
    # topics on a sample, the rest assigned on the cluster; the saved model opens like any other
    result = CliRunner().invoke(app, ["topics", str(out), "--sample", "30", "--ray", "auto"])
    assert result.exit_code == 0, result.output
    report = CliRunner().invoke(app, ["report", str(out), "--out", str(tmp_path / "r.md")])
    assert report.exit_code == 0 and "## Topics" in (tmp_path / "r.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_adding_on_the_cluster_gives_the_single_machine_index(cluster, seed_index, tmp_path, monkeypatch):
    """The cluster embeds what is new; the add here finds every vector in the cache and flags as always."""
    import shutil

    from typer.testing import CliRunner

    from embed.distributed.build import embed_distributed
    from paratopic.cli import app

    files = sorted(SEEDS.glob("*.txt"))
    first, second = tmp_path / "first", tmp_path / "second"
    for folder, part in ((first, files[:3]), (second, files[3:])):
        folder.mkdir()
        for f in part:
            shutil.copy(f, folder / f.name)
    cache = tmp_path / "emb.sqlite"
    index = ParagraphIndex.build(read_corpus(first), cache=cache)
    report = embed_distributed(second, address=cluster, cache=cache, batch_size=8)
    new_texts = set(read_corpus(second)["text_hash"]) - set(index.paragraphs["text_hash"])  # shared lines are cached
    assert sum(report.embedded_by.values()) == len(new_texts)
    stats = index.add(second, cache=cache)
    assert stats.embedded == 0 and stats.from_cache > 0
    _same_index(seed_index, index, ignore=("source_file",))  # the files were copied to two folders
    # the command: a saved index grows with --ray
    monkeypatch.setenv("RAY_ADDRESS", cluster)
    monkeypatch.setenv("PARATOPIC_CACHE_DIR", str(tmp_path / "cli-cache"))
    out = tmp_path / "idx"
    assert CliRunner().invoke(app, ["index", str(first), "--out", str(out)]).exit_code == 0
    result = CliRunner().invoke(app, ["index", str(second), "--out", str(out), "--ray", "auto"])
    assert result.exit_code == 0, result.output
    _same_index(seed_index, ParagraphIndex.load(out), ignore=("source_file",))


def test_sampled_topics_assign_with_the_transform_rule(cluster, seed_index):
    from cluster.topics.sampled import fit_sampled

    result = fit_sampled(seed_index, sample_size=25, address=cluster, random_state=0)
    model = result.model
    rest = np.setdiff1d(np.flatnonzero(seed_index.paragraphs["duplicate_of"].isna() & ~seed_index.paragraphs["boilerplate"]),
                        result.sample_rows)
    assert len(rest) and (result.labels[rest] == model.predict(seed_index.vectors[rest])).all()
    assert (result.labels[result.sample_rows] == model.labels_).all()
    assert set(result.keywords) == set(range(model.n_topics_))


def test_one_large_file_is_read_in_pieces_as_one_file(cluster, tmp_path, monkeypatch):
    """A JSON Lines archive above the piece size is read by several tasks and gives read_corpus's table."""
    import embed.read.pieces
    from embed.distributed.build import read_distributed

    articles = []
    for i, path in enumerate(sorted(SEEDS.glob("*.txt")) * 3):
        title, _, body = path.read_text(encoding="utf-8").partition("\n")
        articles.append({"title": title, "text": body, "copy": i // 5})  # no id column: ids from row numbers
    archive = tmp_path / "archive.jsonl"
    archive.write_text("\n".join(json.dumps(a, ensure_ascii=False) for a in articles) + "\n", encoding="utf-8")
    monkeypatch.setattr(embed.read.pieces, "PIECE_BYTES", 12_000)  # pieces are planned on the driver
    assert len(embed.read.pieces.plan_pieces([str(archive)])) >= 3
    table = read_distributed(archive, address=cluster)
    expected = read_corpus(archive)
    pd.testing.assert_frame_equal(_plain(expected), _plain(table))
    assert table["duplicate_of"].notna().sum() > 0  # the copies are duplicates across pieces


def test_a_bad_file_fails_with_the_same_clear_error_as_on_one_machine(cluster, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from paratopic.cli import app

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.jsonl").write_text('{"text": "Một đoạn văn đủ dài để đọc."}\n{"text": broken\n', encoding="utf-8")
    monkeypatch.setenv("RAY_ADDRESS", cluster)
    result = CliRunner().invoke(app, ["index", str(folder), "--out", str(tmp_path / "idx"), "--ray", "auto"])
    assert result.exit_code != 0
    assert "a.jsonl, line 2: not valid JSON" in result.output
    assert "Traceback" not in result.output and "UDF" not in result.output
    assert not (tmp_path / "idx" / "manifest.json").exists()


def _worker_pids() -> list[int]:
    """Pids of the embedding actors (their process title names the UDF)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if b"_EmbedWorker" in (proc / "cmdline").read_bytes():
                    pids.append(int(proc.name))
            except OSError:
                pass
    return pids


@pytest.mark.slow
def test_killed_worker_still_gives_a_complete_correct_index(cluster, seed_index, tmp_path):
    from embed.distributed.build import build_distributed

    killed: list[int] = []

    def kill_one() -> None:
        deadline = time.time() + 120
        while time.time() < deadline and not killed:
            pids = _worker_pids()
            if pids:
                time.sleep(1.0)  # mid-run: the actor has loaded the model and is embedding
                try:
                    os.kill(pids[0], signal.SIGKILL)
                    killed.append(pids[0])
                except ProcessLookupError:
                    pass
            time.sleep(0.2)

    killer = threading.Thread(target=kill_one, daemon=True)
    killer.start()
    index = build_distributed(SEEDS, address=cluster, cache=False, batch_size=8)
    killer.join(timeout=5)
    assert killed, "no embedding worker was found to kill"
    _same_index(seed_index, index)


@pytest.mark.slow
@pytest.mark.skipif(not VNTC.exists(), reason=f"{VNTC} absent (set PARATOPIC_EVAL_DIR)")
def test_vntc_2000_articles(cluster, tmp_path):
    """2,000 VNTC articles in 4 files: the same table (ids, flags) as read_corpus; and the index
    of their leads (short: embedding 2,000 whole articles twice takes ~30 min on 2 cores) equal to
    the single-machine one, with the same topics."""
    from cluster import TopicModel
    from embed.distributed.build import build_distributed, read_distributed

    rows = pd.read_json(VNTC, lines=True).head(2000)
    rows["id"] = [f"vntc{i:05d}" for i in range(len(rows))]
    articles, leads = tmp_path / "articles", tmp_path / "leads"
    articles.mkdir()
    leads.mkdir()
    for part in range(4):
        chunk = rows.iloc[part * 500 : (part + 1) * 500]
        chunk[["id", "text", "label", "source"]].to_json(articles / f"part{part}.jsonl", orient="records", lines=True, force_ascii=False)
        chunk.assign(text=chunk["lead"])[["id", "text", "label"]].to_json(leads / f"part{part}.jsonl", orient="records", lines=True, force_ascii=False)
    pd.testing.assert_frame_equal(_plain(read_corpus(articles)), _plain(read_distributed(articles, address=cluster)))
    single = ParagraphIndex.build(leads, cache=False)
    distributed = build_distributed(leads, address=cluster, cache=False)
    _same_index(single, distributed)
    a = TopicModel(random_state=0).fit(single).labels_
    b = TopicModel(random_state=0).fit(distributed).labels_
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(a, b) >= 0.99

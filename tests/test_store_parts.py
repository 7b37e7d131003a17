"""The shared pieces of embed/: row normalisation, the IVF construction, the SQLite key-value store under both
caches, the writer lock, atomic writes' file mode, and the shape of embed/ itself (no import cycle, no use of
another object's private attributes)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from embed.store.ann import build_faiss, build_ivf, ivf_lists, resolve_kind
from embed.store.cache import EmbeddingCache, KeyValueStore
from embed.store.files import write_atomic
from embed.store.locking import writer_lock
from embed.vectors import unit_rows

REPO = Path(__file__).resolve().parents[1]


def test_unit_rows_scales_each_row_and_leaves_zero_rows_zero():
    rows = unit_rows(np.array([[3.0, 4.0], [0.0, 0.0], [-2.0, 0.0]]))
    assert rows.dtype == np.float32
    np.testing.assert_allclose(rows, [[0.6, 0.8], [0.0, 0.0], [-1.0, 0.0]], rtol=1e-6)
    one = unit_rows(np.array([0.0, 5.0]), dtype=None)  # one vector stays one vector, float64 stays float64
    assert one.shape == (2,) and one.dtype == np.float64 and one.tolist() == [0.0, 1.0]
    many = unit_rows(np.random.default_rng(0).normal(size=(50, 16)))
    np.testing.assert_allclose(np.linalg.norm(many, axis=1), 1.0, rtol=1e-6)


def test_ivf_is_built_one_way_for_both_ivf_kinds():
    vectors = unit_rows(np.random.default_rng(1).normal(size=(4_000, 32)))
    flat_lists, sq = build_faiss("ivf", vectors), build_faiss("ivfsq", vectors)
    assert flat_lists.nlist == sq.nlist == ivf_lists(4_000) == int(4_000 // 39)  # n/39 bounds 4*sqrt(n) here
    assert flat_lists.ntotal == sq.ntotal == 4_000
    assert flat_lists.nprobe == max(8, flat_lists.nlist // 16) and sq.nprobe == 24
    assert build_ivf(vectors, nprobe=10_000).nprobe == flat_lists.nlist  # never more lists probed than there are
    truth = vectors[:20] @ vectors.T
    found = flat_lists.search(vectors[:20], 1)[1][:, 0]
    assert (found == truth.argmax(axis=1)).all()  # each vector finds itself
    with pytest.raises(ValueError, match="not one of"):
        resolve_kind("ivfpq", 10)


def test_embedding_cache_reads_a_file_written_before_the_store(tmp_path):
    path = tmp_path / "embeddings.sqlite"
    db = sqlite3.connect(path)  # the table exactly as EmbeddingCache created it before KeyValueStore
    db.execute("CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, hash TEXT NOT NULL, "
               "dim INTEGER NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (model, hash))")
    db.execute("INSERT INTO vectors VALUES (?, ?, ?, ?)", ("m", "h1", 2, np.array([1, 0], np.float32).tobytes()))
    db.commit()
    db.close()
    cache = EmbeddingCache(path)
    assert cache.get_many("m", ["h1", "h2"])["h1"].tolist() == [1.0, 0.0]
    assert cache.get_many("other", ["h1"]) == {}
    cache.put_many("m", ["h2"], np.array([[0, 1]], np.float32))
    assert cache.count("m") == 2 and cache.count() == 2
    cache.close()
    assert EmbeddingCache(path).get_many("m", ["h2"])["h2"].tolist() == [0.0, 1.0]


def test_key_value_store_chunks_large_lookups_and_replaces_values(tmp_path):
    with KeyValueStore(tmp_path / "kv.sqlite", "t", key="k", values={"v": "TEXT"}) as store:
        store.put_many((f"k{i}", f"v{i}") for i in range(1_234))
        store.put_many([("k7", "seven")])
        found = store.get_many([f"k{i}" for i in range(1_300)])
        assert len(found) == 1_234 and found["k7"] == ("seven",) and found["k1233"] == ("v1233",)
        with pytest.raises(ValueError, match="has no namespace column"):
            store.get_many(["k1"], "space")
    with pytest.raises(ValueError, match="plain SQL name"):
        KeyValueStore(tmp_path / "kv.sqlite", "t; DROP TABLE t", key="k", values={"v": "TEXT"})


def test_writer_lock_is_reentrant_here_and_exclusive_across_processes(tmp_path):
    probe = ("import sys\nfrom embed.store.locking import writer_lock\nfrom embed.errors import IndexLockedError\n"
             "try:\n    with writer_lock(sys.argv[1], timeout=0.2): print('got it')\n"
             "except IndexLockedError: print('locked')\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def other() -> str:
        return subprocess.run([sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True,
                              env=env, timeout=120).stdout.strip()

    with writer_lock(tmp_path), writer_lock(tmp_path, timeout=0):  # the CLI holds it while save takes it again
        assert other() == "locked"
    assert other() == "got it"


def test_atomic_writes_get_the_mode_the_umask_gives(tmp_path):
    old = os.umask(0o027)  # the test sets it; the library never does
    try:
        write_atomic(tmp_path / "a.json", b"{}")
    finally:
        os.umask(old)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]

"""VectorSpill: the distributed build's driver writes vectors to disk by row, never holding them all."""

from __future__ import annotations

import numpy as np

from embed.store.ann import resolve_kind
from embed.store.spill import VectorSpill


def test_batches_in_any_order_land_in_their_rows_and_duplicates_copy_their_first(tmp_path, seed_index):
    vectors = np.asarray(seed_index.vectors)
    n, dim = vectors.shape
    spill = VectorSpill(n, dim, tmp_path)
    assert list(tmp_path.iterdir()) == []  # the file is unlinked once mapped: nothing is left behind
    unique = np.flatnonzero(seed_index.paragraphs["duplicate_of"].isna().to_numpy())
    batches = np.array_split(np.random.default_rng(0).permutation(unique), 7)
    for rows in batches:
        spill.write(rows, vectors[rows])
        spill.release()  # pages dropped from memory come back from the file
    duplicates = np.flatnonzero(seed_index.paragraphs["duplicate_of"].notna().to_numpy())
    assert set(spill.missing()) == set(duplicates)
    first = {pid: i for i, pid in enumerate(seed_index.paragraphs["id"])}
    spill.copy_rows(duplicates, [first[seed_index.paragraphs["duplicate_of"][i]] for i in duplicates])
    out = spill.finish()
    assert len(spill.missing()) == 0
    assert isinstance(out, np.memmap)
    np.testing.assert_array_equal(out, vectors)


def test_auto_kind_turns_compact_at_millions():
    assert resolve_kind("auto", 1_000) == "flat"
    assert resolve_kind("auto", 500_000) == "hnsw"
    assert resolve_kind("auto", 5_000_000) == "ivfsq"

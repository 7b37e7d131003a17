"""Topic quality against labelled news (VNTC leads); skips when ../shared/eval is absent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import EVAL
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from cluster import TopicModel
from embed import ParagraphIndex

VNTC = EVAL / "vntc" / "vntc_test_1000perclass.jsonl"

pytestmark = pytest.mark.skipif(not VNTC.exists(), reason=f"{VNTC} absent (set PARATOPIC_EVAL_DIR)")


def _leads_index(per_label: int, cache: Path) -> ParagraphIndex:
    vntc = pd.read_json(VNTC, lines=True)
    sample = vntc.groupby("label", group_keys=False).sample(n=per_label, random_state=0)
    frame = pd.DataFrame({"id": [f"v{i}" for i in sample.index], "text": sample["lead"].values,
                          "label": sample["label"].values})
    return ParagraphIndex.build(frame, cache=cache)


def _scores(labels: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    return adjusted_rand_score(truth, labels), normalized_mutual_info_score(truth, labels)


def _bertopic_like(vectors: np.ndarray, seed: int = 0) -> np.ndarray:
    """BERTopic's default pipeline (which gives exactly its topics, see DESIGN.md): UMAP(15, 5, min_dist 0,
    cosine) then HDBSCAN(min_cluster_size=10, eom)."""
    import hdbscan
    import umap

    reduced = umap.UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=seed).fit_transform(vectors)
    return hdbscan.HDBSCAN(min_cluster_size=10, metric="euclidean", cluster_selection_method="eom").fit(reduced).labels_


@pytest.fixture(scope="module")
def leads800(tmp_path_factory: pytest.TempPathFactory) -> ParagraphIndex:
    return _leads_index(80, tmp_path_factory.mktemp("vntc") / "emb.sqlite")  # 800 leads: UMAP's exact path


def test_vntc_small_sample_beats_bertopic_defaults(leads800: ParagraphIndex) -> None:
    """Over three UMAP seeds (both pipelines seeded alike), ours wins on ARI on every seed and by a wide margin in
    the median; NMI, which rewards BERTopic's many small clusters, is on a par. One seed alone decided this test
    before, and on an Intel Xeon (AMX int8 kernels, vectors 0.9995 from the AMD ones) seed 0 gave NMI 0.376 vs 0.384
    while ARI was 0.285 vs 0.179; measured there over seeds 0-4: ARI 0.235-0.316 vs 0.129-0.179, NMI 0.318-0.397 vs
    0.380-0.396."""
    index = leads800
    ours, base = [], []
    for seed in range(3):
        model = TopicModel(random_state=seed).fit(index)
        fitted = model.fitted_mask_
        truth = index.paragraphs["label"].to_numpy()[fitted]
        ours.append(_scores(model.labels_[fitted], truth))
        base.append(_scores(_bertopic_like(index.vectors[fitted], seed), truth))
        assert model.outlier_share_ <= 0.10
        # one-line leads of ten broad sections hold no dense stories: the direct path leaves most as noise, UMAP takes over
        assert model.params_["reduction"] == "umap" and model.params_["direct_outliers"] > 0.25
        assert 3 <= model.n_topics_ <= 40
    ours_ari, ours_nmi = np.median(ours, axis=0)
    base_ari, base_nmi = np.median(base, axis=0)
    assert all(o[0] > b[0] for o, b in zip(ours, base)), (ours, base)
    assert ours_ari > base_ari + 0.05 and ours_ari > 0.15, (ours, base)
    assert ours_nmi > base_nmi - 0.02, (ours, base)


def _seed_sweep(index: ParagraphIndex, seeds: range) -> tuple[list[float], list[float], float]:
    """ARI against the labels and the largest topic's share of the fitted paragraphs, per UMAP seed."""
    aris, largest = [], []
    for seed in seeds:
        model = TopicModel(random_state=seed).fit(index)
        fitted = model.fitted_mask_
        truth, labels = index.paragraphs["label"].to_numpy()[fitted], model.labels_[fitted]
        aris.append(adjusted_rand_score(truth, labels))
        largest.append(np.bincount(labels[labels >= 0]).max() / len(labels))
    label_share = float(pd.Series(truth).value_counts(normalize=True).iloc[0])
    return aris, largest, label_share


def test_no_catch_all_topic_on_any_seed(leads800: ParagraphIndex) -> None:
    """Issue 19: on 800 VNTC leads (UMAP path) five UMAP seeds give five comparable maps. Before the bound on
    HDBSCAN's selection (max_topic_share) four of these seeds put 27-38% of the leads into one topic (the largest
    section holds 10%) and the worst ARI was 0.246 against a median of 0.286."""
    aris, largest, label_share = _seed_sweep(leads800, range(5))
    assert max(largest) <= 2 * label_share, (largest, label_share)
    assert min(aris) >= np.median(aris) - 0.05 and min(aris) >= 0.25, aris


@pytest.mark.slow
def test_no_catch_all_topic_on_3000_leads(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The same at 3,000 leads over ten seeds (before: worst ARI 0.288, median 0.302, a topic of 29%)."""
    index = _leads_index(300, tmp_path_factory.mktemp("vntc3k-seeds") / "emb.sqlite")
    aris, largest, label_share = _seed_sweep(index, range(10))
    assert max(largest) <= 2 * label_share, (largest, label_share)
    assert min(aris) >= np.median(aris) - 0.05 and np.median(aris) >= 0.31, aris


@pytest.mark.slow
def test_vntc_3000_leads_beat_bertopic(tmp_path_factory: pytest.TempPathFactory) -> None:
    bertopic = pytest.importorskip("bertopic")
    from bertopic.backend import BaseEmbedder
    from umap import UMAP

    index = _leads_index(300, tmp_path_factory.mktemp("vntc3k") / "emb.sqlite")
    model = TopicModel(random_state=0).fit(index)
    fitted = model.fitted_mask_
    truth = index.paragraphs["label"].to_numpy()[fitted]
    texts = index.paragraphs["text"].to_numpy()[fitted].tolist()
    bt = bertopic.BERTopic(embedding_model=BaseEmbedder(),
                           umap_model=UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=0))
    bt_labels, _ = bt.fit_transform(texts, embeddings=index.vectors[fitted])
    ours = _scores(model.labels_[fitted], truth)
    base = _scores(np.asarray(bt_labels), truth)
    assert model.outlier_share_ <= 0.10
    assert ours[0] > base[0] and ours[1] > base[1], (ours, base)
    assert ours[0] >= 0.25


VIMS = EVAL / "vims" / "vims_articles.jsonl"


@pytest.mark.skipif(not VIMS.exists(), reason=f"{VIMS} absent (set PARATOPIC_EVAL_DIR)")
def test_small_collections_of_vims_events(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Three draws of 5 ViMs events (as benchmarks/bench_small.py draws them): the events come out as topics,
    better than BERTopic's pipeline on the same vectors, with no catch-all topic."""
    from embed import read_corpus

    articles = pd.read_json(VIMS, lines=True, dtype={"date": str})
    events = sorted(articles["event"].unique())
    cache = tmp_path_factory.mktemp("vims") / "emb.sqlite"
    ours, base = [], []
    for draw in range(3):
        chosen = np.random.default_rng(5000 + draw).choice(events, size=5, replace=False)
        index = ParagraphIndex.build(read_corpus(articles[articles["event"].isin(chosen)]), cache=cache)
        model = TopicModel(random_state=0).fit(index)
        fitted = model.fitted_mask_
        truth = index.paragraphs["event"].to_numpy()[fitted]
        ours.append(adjusted_rand_score(truth, model.labels_[fitted]))
        base.append(adjusted_rand_score(truth, _bertopic_like(index.vectors[fitted])))
        largest_event = pd.Series(truth).value_counts().iloc[0] / len(truth)
        largest_topic = np.bincount(model.labels_[fitted][model.labels_[fitted] >= 0]).max() / len(truth)
        assert largest_topic <= largest_event + 0.05, (draw, largest_topic, largest_event)
    assert np.mean(ours) >= 0.9 and np.mean(ours) > np.mean(base), (ours, base)


def test_sample_fit_keeps_the_full_fits_granularity(leads800: ParagraphIndex) -> None:
    """A topic fit on a third of the leads (266 of 800: the direct path), the rest assigned by the transform rule,
    keeps the full fit's granularity and most of its agreement with the sections (cluster.topics.sampled; the
    sample's smallest topic scaled to its share of the collection). Over sample seeds, not one: measured on this
    set, sample seeds 0-4 gave ARI 0.15-0.21 (mean 0.17-0.18) against the full fit's 0.29-0.30 with both the
    version-2 and version-3 engines, and 4-9 topics against 8; a single seed's ARI moved by 0.06 with the engine."""
    from cluster.topics.sampled import fit_sampled, sample_min_cluster_size

    assert sample_min_cluster_size(3000, 1000) == 18 and sample_min_cluster_size(10, 5) >= 2
    full = TopicModel(random_state=0).fit(leads800)
    mask = full.fitted_mask_
    truth = leads800.paragraphs["label"].to_numpy()[mask]
    full_ari = adjusted_rand_score(truth, full.labels_[mask])
    parts = [fit_sampled(leads800, sample_size=len(leads800) // 3, address=None, keywords=False, random_state=seed)
             for seed in range(3)]
    assert all((part.labels[mask] >= 0).mean() > 0.8 for part in parts)
    sampled_ari = [adjusted_rand_score(truth, part.labels[mask]) for part in parts]
    topics = sorted(part.model.n_topics_ for part in parts)
    assert topics[1] >= 0.5 * full.n_topics_ and np.mean(sampled_ari) >= 0.5 * full_ari, (sampled_ari, full_ari, topics)


def test_sampled_topics_save_as_an_ordinary_model(leads800: ParagraphIndex, tmp_path: Path) -> None:
    from cluster import write_report
    from cluster.topics.sampled import fit_sampled

    part = fit_sampled(leads800, sample_size=300, address=None)
    model = part.as_topic_model(leads800)
    assert np.array_equal(model.labels_, part.labels) and model.params_["sample_size"] == 300
    assert model.embedding_2d_.shape == (len(leads800), 2) and np.isfinite(model.embedding_2d_).all()
    leads800.save(tmp_path / "index")
    model.save(tmp_path / "index" / "topics", index_dir=tmp_path / "index")
    back = TopicModel.load(tmp_path / "index" / "topics")
    assert np.array_equal(back.labels_, part.labels)
    assert [w for w, _ in back.get_topic(0)] == [w for w, _ in model.get_topic(0)]
    assert "## Topics" in write_report(back, tmp_path / "r.md").read_text(encoding="utf-8")

"""Topic model on real input: the seed articles, tiny inputs, save/load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import EVAL

from cluster import TOPIC_INFO_COLUMNS, IndexMismatchError, TopicModel
from cluster.words.keywords import KeywordModel
from cluster.words.stopwords import vietnamese_stopwords
from cluster.words.tokens import Tokenizer, detect_language
from embed import ParagraphIndex, read_corpus

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
HWASONG = ["000_bafd0c5b1fa3f0f2:8", "000_bafd0c5b1fa3f0f2:9"]
SUMMIT_DOC = "002_d3edf12b0699b25c"


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> ParagraphIndex:
    cache = tmp_path_factory.mktemp("cache") / "emb.sqlite"
    return ParagraphIndex.build(SEEDS, cache=cache)


@pytest.fixture(scope="session")
def seed_model(seed_index: ParagraphIndex) -> TopicModel:
    return TopicModel(random_state=0).fit(seed_index)


def _flagged(index: ParagraphIndex) -> np.ndarray:
    table = index.paragraphs
    return table["boilerplate"].astype(bool).to_numpy() | table["duplicate_of"].notna().to_numpy()


def _subindex(index: ParagraphIndex, rows: list[int]) -> ParagraphIndex:
    table = index.paragraphs.iloc[rows].reset_index(drop=True)
    return ParagraphIndex(table, index.vectors[rows], embedder_description=index.embedder_description)


# ------------------------------------------------------------------ seeds
def test_seed_topics_separate_hwasong_from_summit(seed_model: TopicModel, seed_index: ParagraphIndex) -> None:
    table = seed_index.paragraphs
    row = {pid: i for i, pid in enumerate(table["id"])}
    hwasong = {int(seed_model.labels_[row[p]]) for p in HWASONG}
    assert len(hwasong) == 1 and -1 not in hwasong, hwasong
    # the summit paragraphs of the Hanoi article: those naming the summit or Trump
    summit_rows = [
        i for i, r in enumerate(table.itertuples())
        if r.doc_id == SUMMIT_DOC and not _flagged(seed_index)[i] and ("thượng đỉnh" in r.text or "Trump" in r.text)
    ]
    assert len(summit_rows) >= 3
    summit = {int(seed_model.labels_[i]) for i in summit_rows}
    assert len(summit) == 1 and -1 not in summit, summit
    assert summit != hwasong
    assert seed_model.n_topics_ >= 2


def test_seed_topics_have_no_catch_all_and_ignore_the_seed(seed_model: TopicModel, seed_index: ParagraphIndex) -> None:
    # 43 modelled paragraphs: the direct path (no UMAP), so no random step at all
    assert seed_model.params_["reduction"] == "none"
    sizes = np.bincount(seed_model.labels_[seed_model.fitted_mask_ & (seed_model.labels_ >= 0)])
    assert sizes.max() <= 0.40 * seed_model.fitted_mask_.sum(), sizes
    other_seed = TopicModel(random_state=7).fit(seed_index)
    assert np.array_equal(other_seed.labels_, seed_model.labels_)
    # each topic's phrase label is 2-5 words written in its own paragraphs
    for topic in range(seed_model.n_topics_):
        label = seed_model.topic_label(topic)
        texts = seed_index.paragraphs["text"][seed_model.labels_ == topic].str.lower()
        assert 2 <= len(label.split()) <= 8 and texts.str.contains(label.lower(), regex=False).sum() >= 2, label


def test_seed_topics_survive_tiny_vector_differences(seed_model: TopicModel, seed_index: ParagraphIndex) -> None:
    # another CPU's int8 kernels give slightly different vectors; the README says noise of 0.001 moves at most a paragraph or two
    rng = np.random.default_rng(0)
    for _ in range(5):
        noisy = seed_index.vectors + rng.normal(0, 1e-3, seed_index.vectors.shape).astype(np.float32)
        noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
        index = ParagraphIndex(seed_index.paragraphs, noisy, embedder_description=seed_index.embedder_description)
        noisy_model = TopicModel(random_state=0).fit(index)
        fitted = seed_model.fitted_mask_
        table = pd.crosstab(seed_model.labels_[fitted], noisy_model.labels_[fitted]).to_numpy()
        moved = int(fitted.sum() - table.max(axis=1).sum())  # paragraphs outside their old topic's new home
        assert noisy_model.n_topics_ == seed_model.n_topics_ and moved <= 2, moved


def test_article_context_is_what_separates_the_seed_articles(seed_index: ParagraphIndex) -> None:
    from sklearn.metrics import adjusted_rand_score

    def article_ari(model: TopicModel) -> float:
        mask = model.fitted_mask_
        return adjusted_rand_score(seed_index.paragraphs["doc_id"].to_numpy()[mask], model.labels_[mask])

    alone = TopicModel(random_state=0, article_context=0).fit(seed_index)
    with_context = TopicModel(random_state=0).fit(seed_index)
    assert article_ari(with_context) > article_ari(alone) + 0.2, (article_ari(with_context), article_ari(alone))
    with pytest.raises(ValueError, match="article_context"):
        TopicModel(article_context=-1).fit(seed_index)


def test_flagged_paragraphs_left_out_and_never_form_a_topic(seed_model: TopicModel, seed_index: ParagraphIndex) -> None:
    flagged = _flagged(seed_index)
    assert not seed_model.fitted_mask_[flagged].any()
    boiler = seed_index.paragraphs["boilerplate"].astype(bool).to_numpy()
    for topic in range(seed_model.n_topics_):
        members = seed_model.labels_ == topic
        assert (members & ~flagged).any(), f"topic {topic} holds only flagged paragraphs"
    # boilerplate that duplicates nothing gets no topic; duplicates follow their original
    table = seed_index.paragraphs
    row = {pid: i for i, pid in enumerate(table["id"])}
    for i in np.flatnonzero(flagged):
        original = table["duplicate_of"].iat[i]
        if original is None or pd.isna(original):
            assert seed_model.labels_[i] == -1
        elif seed_model.fitted_mask_[row[original]]:
            assert seed_model.labels_[i] == seed_model.labels_[row[original]]
    assert boiler.sum() > 0


def test_same_seed_same_topics(seed_index: ParagraphIndex, seed_model: TopicModel) -> None:
    again = TopicModel(random_state=0).fit(seed_index)
    assert np.array_equal(again.labels_, seed_model.labels_)
    assert again.topic_info()["keywords"].tolist() == seed_model.topic_info()["keywords"].tolist()


def test_vietnamese_keywords_are_words(seed_model: TopicModel) -> None:
    words = [w for t in range(seed_model.n_topics_) for w, _ in seed_model.get_topic(t)]
    multi = [w for w in words if " " in w]
    assert multi, words
    assert any(ch in "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ" for w in multi for ch in w.lower())
    assert not any("_" in w for w in words)
    stop = vietnamese_stopwords()
    assert not [w for w in words if w.lower() in stop]
    assert seed_model.stopwords_info_["language"] == "vi"


def test_topic_table_and_details(seed_model: TopicModel, seed_index: ParagraphIndex) -> None:
    info = seed_model.topic_info()
    assert list(info.columns) == TOPIC_INFO_COLUMNS
    assert len(info) == seed_model.n_topics_
    assert info["size"].is_monotonic_decreasing
    assert info["share"].sum() == pytest.approx(1 - seed_model.outlier_share_)
    assert all(set(docs) <= set(seed_index.paragraphs["doc_id"]) for docs in info["documents"])
    assert (info["n_documents"] == info["documents"].map(len)).all()
    reps = seed_model.representative_paragraphs(0, n=2)
    assert list(reps.columns) == ["id", "doc_id", "title", "text", "score"]
    assert len(reps) == 2 and reps["score"].is_monotonic_decreasing
    assert "<table" in seed_model._repr_html_()
    from rich.console import Console

    console = Console(record=True, width=140)
    console.print(seed_model)
    assert seed_model.topic_label(0) in console.export_text()
    assert 0 <= seed_model.outlier_share_ <= 1
    json.dumps(seed_model.params_)


def test_map_coordinates_cover_every_row(seed_model: TopicModel, seed_index: ParagraphIndex) -> None:
    xy = seed_model.embedding_2d_
    assert xy.shape == (len(seed_index), 2) and np.isfinite(xy).all()
    table = seed_model.paragraph_table()
    assert {"topic", "topic_label", "x", "y"} <= set(table.columns) and len(table) == len(seed_index)


def test_structure_queries(seed_model: TopicModel, seed_index: ParagraphIndex) -> None:
    k = seed_model.n_topics_
    sims = seed_model.topic_similarity()
    assert sims.shape == (k, k) and np.allclose(np.diag(sims.to_numpy()), 1, atol=1e-5)
    near = seed_model.nearest_topics(0, n=2)
    assert len(near) == min(2, k - 1) and all(t != 0 for t, _ in near)
    tree = seed_model.hierarchy()
    assert len(tree) == k - 1 and sorted(tree["topics"].iloc[-1]) == list(range(k))
    assert seed_model.topics_over_time().empty
    # a free-text query about the summit finds the summit paragraphs' topic first
    row = {pid: i for i, pid in enumerate(seed_index.paragraphs["id"])}
    summit_topic = int(seed_model.labels_[row[f"{SUMMIT_DOC}:4"]])
    found = seed_model.find_topics("hội nghị thượng đỉnh Mỹ - Triều Tiên ở Hà Nội giữa Trump và Kim", n=k)
    assert summit_topic in [t for t, _ in found[:2]], (summit_topic, found)
    # transform: stored vectors and texts land in the topics of their paragraphs
    fitted_rows = np.flatnonzero(seed_model.fitted_mask_ & (seed_model.labels_ >= 0))
    got = seed_model.predict(seed_index.vectors[fitted_rows])
    assert (got == seed_model.labels_[fitted_rows]).mean() >= 0.8
    text = seed_index.paragraphs["text"].iat[row[HWASONG[0]]]
    assert seed_model.predict([text])[0] == seed_model.labels_[row[HWASONG[0]]]


def test_topics_over_time_with_dates(seed_index: ParagraphIndex) -> None:
    table = seed_index.paragraphs.copy()
    table["date"] = table["doc_id"].map(lambda d: f"2018-0{int(d[:3]) + 1}-15")
    dated = ParagraphIndex(table, seed_index.vectors, embedder_description=seed_index.embedder_description)
    model = TopicModel(random_state=0).fit(dated)
    over = model.topics_over_time(freq="M")
    assert list(over.columns) == ["topic", "period", "count"]
    assert over["count"].sum() == (model.labels_ >= 0).sum()


def test_merge_reduce_relabel(seed_index: ParagraphIndex) -> None:
    model = TopicModel(random_state=0).fit(seed_index)
    k = model.n_topics_
    assert k >= 3
    sizes = model.topic_info().set_index("topic")["size"]
    before = model.labels_.copy()
    model.set_labels({1: "my label"})
    model.merge_topics([1, 2])
    assert model.n_topics_ == k - 1
    merged = np.unique(model.labels_[np.isin(before, [1, 2])])
    assert len(merged) == 1 and merged[0] >= 0  # every paragraph of topics 1 and 2 is in one topic now
    assert (model.labels_ == merged[0]).sum() == sizes[1] + sizes[2]  # ... and only they
    assert model.topic_info().set_index("topic")["size"][merged[0]] == sizes[1] + sizes[2]
    assert model.topic_label(merged[0]) == "my label"  # the first listed topic's hand-set label is kept
    model.reduce_topics(2)
    assert model.n_topics_ == 2
    assert set(model.labels_[model.fitted_mask_]) <= {-1, 0, 1}
    with pytest.raises(ValueError, match="no topic 7"):
        model.merge_topics([0, 7])
    model.set_labels({0: ""})
    assert model.topic_label(0) == model.phrase_labels_[0]  # the automatic label again (cluster/words/labels.py)


def test_outlier_threshold_choices(seed_index: ParagraphIndex) -> None:
    kept = TopicModel(random_state=0, outlier_threshold=None).fit(seed_index)
    auto = TopicModel(random_state=0).fit(seed_index)
    everyone = TopicModel(random_state=0, outlier_threshold=-1.0).fit(seed_index)
    assert kept.outlier_share_ == pytest.approx(kept.raw_outlier_share_)
    assert everyone.outlier_share_ == 0.0
    assert everyone.outlier_share_ <= auto.outlier_share_ <= kept.outlier_share_
    kept.reassign_outliers(-1.0)
    assert kept.outlier_share_ == 0.0
    with pytest.raises(ValueError, match="outlier_threshold"):
        TopicModel(outlier_threshold=2.0).fit(seed_index)


def test_save_load_roundtrip_and_mismatch(seed_model: TopicModel, seed_index: ParagraphIndex, tmp_path: Path) -> None:
    seed_index.save(tmp_path / "idx")
    seed_model.set_labels({0: "hand label"})
    seed_model.save(tmp_path / "tm", index_dir=tmp_path / "idx")
    assert not list((tmp_path / "tm").glob("*.pkl"))
    loaded = TopicModel.load(tmp_path / "tm")  # opens the recorded index
    assert np.array_equal(loaded.labels_, seed_model.labels_)
    assert loaded.topic_info().equals(seed_model.topic_info())
    assert loaded.topic_label(0) == "hand label"
    seed_model.set_labels({0: ""})
    again = TopicModel.load(tmp_path / "tm", index=seed_index)
    assert again.get_topic(1) == seed_model.get_topic(1)
    other = _subindex(seed_index, list(range(len(seed_index) - 1)))
    with pytest.raises(IndexMismatchError, match="another index"):
        TopicModel.load(tmp_path / "tm", index=other)


# ------------------------------------------------------------ tiny inputs
@pytest.mark.parametrize("n", [1, 2, 3])
def test_too_few_paragraphs_says_so(seed_index: ParagraphIndex, n: int, caplog: pytest.LogCaptureFixture) -> None:
    rows = list(np.flatnonzero(~_flagged(seed_index))[:n])
    model = TopicModel(random_state=0).fit(_subindex(seed_index, rows))
    assert model.n_topics_ == 0 and (model.labels_ == -1).all()
    assert "too few paragraphs" in model.message_ and str(n) in model.message_
    assert "too few paragraphs" in caplog.text
    info = model.topic_info()
    assert info.empty and list(info.columns) == TOPIC_INFO_COLUMNS
    assert model.embedding_2d_.shape == (n, 2)
    assert "too few" in model._repr_html_()
    assert (model.predict(seed_index.vectors[rows]) == -1).all()


def test_five_paragraphs_give_a_result(seed_index: ParagraphIndex) -> None:
    rows = list(np.flatnonzero(~_flagged(seed_index))[:5])
    model = TopicModel(random_state=0).fit(_subindex(seed_index, rows))
    assert len(model.labels_) == 5
    assert model.message_ == "" and model.n_topics_ >= 1  # five distinct paragraphs are enough (MIN_PARAGRAPHS)
    assert set(model.labels_) - {-1} == set(range(model.n_topics_))
    assert model.topic_info()["size"].sum() == (model.labels_ >= 0).sum()
    assert model.embedding_2d_.shape == (5, 2)


def test_identical_paragraphs(seed_index: ParagraphIndex) -> None:
    table = read_corpus(["Triều Tiên phóng tên lửa đạn đạo liên lục địa Hwasong-15."] * 6)
    vectors = np.repeat(seed_index.vectors[:1], len(table), axis=0)
    index = ParagraphIndex(table, vectors, embedder_description=seed_index.embedder_description)
    model = TopicModel(random_state=0).fit(index)
    assert model.n_topics_ == 0 and "too few" in model.message_
    flagged_too = TopicModel(random_state=0, include_flagged=True).fit(index)
    assert flagged_too.n_topics_ == 0 and "1 distinct" in flagged_too.message_


def test_bad_parameters_name_the_value(seed_index: ParagraphIndex) -> None:
    with pytest.raises(ValueError, match="'bogus'"):
        TopicModel(cluster_selection_method="bogus").fit(seed_index)
    with pytest.raises(TypeError, match="unexpected keyword"):
        TopicModel(min_topic_size=3)  # type: ignore[call-arg]
    with pytest.raises(RuntimeError, match="not fitted"):
        TopicModel().topic_info()


def test_replaceable_components(seed_index: ParagraphIndex) -> None:
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    model = TopicModel(umap_model=PCA(n_components=5, random_state=0),
                       hdbscan_model=KMeans(n_clusters=3, n_init=3, random_state=0)).fit(seed_index)
    assert model.n_topics_ == 3 and model.outlier_share_ == 0.0
    assert "PCA" in model.params_["umap_model"]


# -------------------------------------------------------- other languages
def test_english_tokens_and_language_detection() -> None:
    texts = ["The space shuttle launch was delayed by NASA engineers.", "Engineers said the orbit is stable."]
    assert detect_language(texts) == "en"
    assert detect_language(["Triều Tiên phóng tên lửa đạn đạo"]) == "vi"
    from cluster.words.stopwords import english_stopwords

    tok = Tokenizer("en", english_stopwords())
    docs = tok.tokenize(texts)
    assert "the" not in docs[0] and "shuttle" in docs[0] and "nasa" in docs[0]
    model = KeywordModel([*docs, ["orbit", "orbit", "stable"]], np.array([0, 0, 1]))
    assert model.keywords(1, n=2)[0][0] == "orbit"


@pytest.mark.skipif(not (EVAL / "20newsgroups").exists(), reason=f"{EVAL}/20newsgroups absent")
def test_english_keywords_on_newsgroups() -> None:
    frame = pd.read_json(EVAL / "20newsgroups" / "20ng_bydate_all_clean.jsonl", lines=True)
    groups = ["sci.space", "rec.sport.hockey"]
    frame = frame[frame["label"].isin(groups) & (frame["text"].str.len() > 200)].groupby("label").head(60)
    assert len(frame) > 10
    from cluster.words.stopwords import english_stopwords

    tok = Tokenizer("en", english_stopwords())
    docs = tok.tokenize(frame["text"].tolist())
    labels = np.array([groups.index(g) for g in frame["label"]])
    words = [w for w, _ in KeywordModel(docs, labels).keywords(groups.index("sci.space"), n=10)]
    assert not set(words) & english_stopwords()
    assert {"space", "nasa", "orbit", "launch", "shuttle"} & set(words), words


@pytest.mark.slow
def test_first_umap_compile_says_it_happens_once(tmp_path: Path) -> None:
    """The first UMAP import on a machine (an empty numba cache) says that it compiles once; the next does not."""
    import os
    import subprocess
    import sys

    probe = ("import logging; logging.basicConfig(level=logging.WARNING)\n"
             "from cluster.topics.reduction import import_umap; import_umap()")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    runs = [subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
            for _ in range(2)]
    assert "compiling UMAP's numba code, once for this machine" in runs[0].stderr
    assert "compiling" not in runs[1].stderr

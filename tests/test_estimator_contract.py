"""The scikit-learn contract TopicModel and StoryModel claim, checked on the seed index.

Claimed: ``fit(index, y=None)`` returns self; ``fit_predict`` equals ``fit(...).labels_``; TopicModel's
``predict`` gives labels (``transform`` is its deprecated name); ``get_params`` / ``set_params`` round trip
and ``sklearn.base.clone`` works (``__init__`` stores its parameters unchanged); a model used before
``fit`` raises :class:`cluster.errors.NotFittedError` (scikit-learn's and paratopic's); a bad parameter
is one type, :class:`embed.errors.InputError` (a ValueError). StoryModel is agglomerative and, like
``sklearn.cluster.AgglomerativeClustering``, has no ``predict``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sklearn.exceptions
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from cluster import StoryModel, TopicModel
from cluster.errors import NotFittedError
from embed.errors import InputError, ParatopicError

TOPIC_PARAMS = {"random_state": 3, "min_cluster_size": 4, "stopwords": ["một", "hai"], "outlier_threshold": 0.5,
                "n_keywords": 7, "article_context": 0.5}
STORY_PARAMS = {"min_similarity": 0.31, "background_z": None, "language": "vi", "time_penalty": 0.2}


@pytest.fixture(scope="module")
def topics(seed_index) -> TopicModel:
    return TopicModel(random_state=0).fit(seed_index)


@pytest.mark.parametrize("cls, params", [(TopicModel, TOPIC_PARAMS), (StoryModel, STORY_PARAMS)])
def test_params_are_stored_unchanged_and_round_trip(cls, params) -> None:
    model = cls(**params)
    got = model.get_params()
    for name, value in params.items():
        assert got[name] is value  # the very object given: nothing copied or converted in __init__
    assert set(got) == set(cls().get_params())  # every constructor parameter is a parameter
    other = cls().set_params(**params)
    assert other.get_params() == got
    copy = clone(model)
    assert copy is not model and copy.get_params() == got
    assert not hasattr(copy, "labels_")


@pytest.mark.parametrize("cls", [TopicModel, StoryModel])
def test_not_fitted_is_one_error_of_both_libraries(cls, seed_index) -> None:
    model = cls()
    with pytest.raises(NotFittedError, match=f"this {cls.__name__} is not fitted"):
        model.save("unused-folder-never-written")
    err = NotFittedError("x")
    assert isinstance(err, sklearn.exceptions.NotFittedError) and isinstance(err, ParatopicError)
    with pytest.raises(sklearn.exceptions.NotFittedError):
        check_is_fitted(model)


def test_topic_model_not_fitted_everywhere() -> None:
    model = TopicModel()
    for call in (model.topic_info, lambda: model.predict(np.zeros((1, 384), np.float32)), model.hierarchy,
                 lambda: model.reassign_outliers(), model.topic_similarity, lambda: model.get_topic(0)):
        with pytest.raises(NotFittedError):
            call()


def test_topic_fit_returns_self_and_fit_predict_matches(seed_index, topics) -> None:
    model = TopicModel(random_state=0)
    assert model.fit(seed_index, None) is model
    check_is_fitted(model)
    again = TopicModel(random_state=0).fit_predict(seed_index)
    assert again.shape == (len(seed_index.paragraphs),) and again.dtype == np.int64
    assert np.array_equal(again, model.labels_) and np.array_equal(again, topics.labels_)
    assert topics.n_topics_ >= 2  # the seeds hold several topics: the equality above compares real labels


def test_predict_gives_the_fitted_labels_and_transform_warns(seed_index, topics) -> None:
    fitted = np.flatnonzero(topics.fitted_mask_)
    members = fitted[topics.fit_labels_ >= 0]
    got = topics.predict(seed_index.vectors[members])
    assert (got == topics.labels_[members]).mean() >= 0.9  # members are nearest their own centre
    with pytest.warns(DeprecationWarning, match="use predict"):
        old = topics.transform(seed_index.vectors[members])
    assert np.array_equal(old, got)


def test_story_fit_returns_self_and_fit_predict_matches(seed_index, topics) -> None:
    model = StoryModel()
    assert model.fit(seed_index) is model
    check_is_fitted(model)
    assert np.array_equal(StoryModel().fit_predict(seed_index), model.labels_)
    with_topics = StoryModel().fit(seed_index, topics=topics)
    assert any(t is not None for t in with_topics.story_info()["topic"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        StoryModel().fit(seed_index, None, topics=topics)  # the new spelling does not warn
    with pytest.warns(DeprecationWarning, match="pass topics="):
        old = StoryModel().fit(seed_index, topics)  # the old positional spelling still works, for one release
    assert old.story_info()["topic"].tolist() == with_topics.story_info()["topic"].tolist()


@pytest.mark.parametrize("cls, bad", [
    (TopicModel, {"outlier_threshold": 2.0}), (TopicModel, {"language": "xx"}), (TopicModel, {"n_keywords": 0}),
    (TopicModel, {"umap_model": object()}), (StoryModel, {"min_similarity": 3.0}), (StoryModel, {"language": "xx"}),
])
def test_a_bad_parameter_is_an_input_error_at_fit(cls, bad, seed_index) -> None:
    model = cls(**bad)  # accepted by __init__ (scikit-learn checks at fit)
    with pytest.raises(InputError) as caught:
        model.fit(seed_index)
    assert isinstance(caught.value, ValueError)
    assert next(iter(bad)) in str(caught.value)


def test_fit_refuses_what_is_not_an_index() -> None:
    with pytest.raises(InputError, match="ParagraphIndex"):
        TopicModel().fit(np.zeros((10, 4)))


@pytest.mark.parametrize(("old", "name", "new"), [("cluster.figures", "paragraph_map", "cluster.report.figures"),
                                                  ("cluster.sampled", "fit_sampled", "cluster.topics.sampled")])
def test_module_names_the_previous_readme_used_still_work_with_a_warning(old, name, new):
    import importlib
    import sys

    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=old):
        module = importlib.import_module(old)
    assert getattr(module, name) is getattr(importlib.import_module(new), name)

"""An index folder with its saved topics and stories: open it, build or grow the index, fit or update
its topics and stories, write a report.

``Workspace.open(directory)`` loads the index in ``directory`` (or in ``directory/index``, the folder
``paratopic run`` writes), the topics saved in ``DIR/topics`` and the stories saved in ``DIR/stories`` when
they are there and fit the index. Nothing is fitted and nothing is written: what cannot be used is left
out (``None``) with a note in :attr:`Workspace.notes`. The other operations (what the command line calls)
write into the folder: the index under its writer lock, the models atomically under theirs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from embed.errors import InputError, ParatopicError

if TYPE_CHECKING:
    from cluster.stories.model import StoryModel
    from cluster.topics.model import TopicModel
    from cluster.workspace.indexing import Indexed
    from embed.store.index import ParagraphIndex

__all__ = ["Workspace", "TOPICS_SUBDIR", "STORIES_SUBDIR", "index_folder", "find_index"]

logger = logging.getLogger(__name__)

#: Where ``paratopic topics`` and ``paratopic stories`` save their models, inside the index folder.
TOPICS_SUBDIR = "topics"
STORIES_SUBDIR = "stories"
#: A progress or warning line for the person running the operation (the command line prints it on stderr).
Notify = Callable[[str], None]


def index_folder(directory: str | Path) -> Path:
    """The index in ``directory``, or the one in ``directory/index`` when ``directory`` is the folder
    ``paratopic run`` wrote; refuses a folder that holds neither."""
    directory = Path(directory)
    if (directory / "manifest.json").is_file():
        return directory
    if (directory / "index" / "manifest.json").is_file():
        return directory / "index"
    raise InputError(f"{directory}: no index here (no manifest.json in it nor in {directory / 'index'}); "
                     "build one with `paratopic index` or `paratopic run`")


def find_index(directory: str | Path, notify: Notify | None = None) -> Path:
    """Like :func:`index_folder`, saying when ``directory/index`` is used; a folder with neither is returned
    as given, so that loading it says what is wrong with it."""
    directory = Path(directory)
    if not (directory / "manifest.json").exists() and (directory / "index" / "manifest.json").is_file():
        (notify or logger.info)(f"using the index in {directory / 'index'}")
        return directory / "index"
    return directory


@dataclass
class Workspace:
    """A loaded index with its topics and stories (either may be None).

    Attributes:
        directory: the index folder.
        index: the :class:`embed.ParagraphIndex`; when stories are loaded its paragraph table has a
            ``story`` column, so that grouped search gathers each story's hits under its best one.
        topics: the saved (or last fitted) :class:`cluster.TopicModel`, or None.
        stories: the saved (or last fitted) :class:`cluster.StoryModel`, or None.
        notes: why saved topics or stories were left out, one line each.
        notify: where progress lines go (default: the log, at INFO).
    """

    directory: Path
    index: ParagraphIndex
    topics: TopicModel | None = None
    stories: StoryModel | None = None
    notes: list[str] = field(default_factory=list)
    notify: Notify | None = field(default=None, repr=False, compare=False)

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, directory: str | Path, *, notify: Notify | None = None) -> Workspace:
        """Load the index in ``directory`` (or ``directory/index``) and its saved topics and stories (read-only)."""
        from embed.store.index import ParagraphIndex

        folder = index_folder(directory)
        workspace = cls(directory=folder, index=ParagraphIndex.load(folder), notify=notify)
        workspace.load_topics()
        workspace.load_stories()
        return workspace

    @classmethod
    def load(cls, directory: str | Path, *, stories: bool = False, notify: Notify | None = None) -> Workspace:
        """The index in ``directory`` (or ``directory/index``, with a note), topics not loaded; with ``stories``
        the saved stories' ``story`` column, when they fit (else a note), without loading the story model."""
        from embed.store.index import ParagraphIndex

        folder = find_index(directory, notify)
        workspace = cls(directory=folder, index=ParagraphIndex.load(folder), notify=notify)
        if stories:
            workspace.load_story_column()
        return workspace

    @classmethod
    def index_articles(cls, out: str | Path, inputs: Sequence[str | Path], *, notify: Notify | None = None,
                       **options: Any) -> tuple[Workspace, Indexed]:
        """Build the index in ``out`` from ``inputs``, or add them to the one there
        (:func:`cluster.workspace.indexing.index_articles`, whose keyword options it takes)."""
        from cluster.workspace.indexing import index_articles

        done = index_articles(out, inputs, **options)
        return cls(directory=Path(out), index=done.index, notify=notify), done

    def load_topics(self, note: str | None = None, *, tolerate: type[Exception] = ParatopicError) -> TopicModel | None:
        """The topics saved in ``DIR/topics`` when they fit the index, else None with a note (``note``, where
        ``{exc}`` stands for the reason): only errors of type ``tolerate`` are noted, others raise."""
        saved = self.directory / TOPICS_SUBDIR
        if not (saved / "topic_model.json").is_file():
            return None
        from cluster.topics.model import TopicModel

        try:
            self.topics = TopicModel.load(saved, index=self.index)
        except tolerate as exc:
            self._warn((note or "the saved topics are left out ({exc}); `paratopic topics DIR --update` brings them "
                        "up to date").format(exc=exc))
        return self.topics

    def load_stories(self, note: str | None = None) -> StoryModel | None:
        """The stories saved in ``DIR/stories`` when they fit the index (giving it a ``story`` column), else None."""
        saved = self.directory / STORIES_SUBDIR
        if not (saved / "stories.json").is_file():
            return None
        from cluster.stories.model import StoryModel

        try:
            self.stories = StoryModel.load(saved, self.index)
        except ParatopicError as exc:
            self._warn((note or "the saved stories are left out ({exc}); `paratopic stories DIR` brings them up to "
                        "date").format(exc=exc))
            return None
        if "story" not in self.index.paragraphs.columns:
            self.index.paragraphs["story"] = self.stories.labels_
        return self.stories

    def load_story_column(self) -> None:
        """Give the index the saved stories' ``story`` column (for grouped search) without loading the story model
        (and scikit-learn with it); a note when they do not fit the index."""
        saved = self.directory / STORIES_SUBDIR
        if not (saved / "stories.json").is_file() or "story" in self.index.column_names:
            return
        from cluster.stories.persist import load_stories, paragraph_stories

        try:
            stories = load_stories(saved, self.index)
        except ParatopicError as exc:
            self._warn(f"saved stories not used for grouping ({exc})")
            return
        self.index.set_column("story", paragraph_stories(stories, self.index.column("doc_id")))

    def _warn(self, message: str) -> None:
        logger.warning("%s", message) if self.notify is None else self.notify(message)
        self.notes.append(message)

    def _tell(self, message: str) -> None:
        (self.notify or logger.info)(message)

    def is_stale(self) -> bool:
        """True when a writer has saved a newer generation of the index since it was opened."""
        return self.index.is_stale()

    # ------------------------------------------------------------------- topics
    def fit_topics(self, params: Mapping[str, Any] | None = None, *, refit: bool = False,
                   flags: Mapping[str, str] | None = None) -> TopicModel:
        """The topics in ``DIR/topics`` when saved and nothing asks for a refit (``refit`` or ``params``);
        else a fit with ``params`` (TopicModel parameters; ``random_state`` 0 unless given), saved there.
        A refit over a saved model gives the topics it matches their old ids (:func:`match_refit`).
        ``flags`` names the parameters in the note that they replace a saved model (default ``--name``)."""
        from cluster.topics.model import TopicModel
        from cluster.topics.setaside import fit_mask
        from cluster.topics.updates import match_refit
        from cluster.workspace.saved import load_for_update

        saved = self.directory / TOPICS_SUBDIR
        given = {k: v for k, v in (params or {}).items() if v is not None}
        if saved.exists() and not refit and not given:
            self.topics = TopicModel.load(saved, index=self.index)
            self.topics.index_dir_ = self.directory
            return self.topics
        previous = None
        if saved.exists():
            if given:
                names = ", ".join((flags or {}).get(k, f"--{k.replace('_', '-')}") for k in given)
                self._tell(f"{names} replace{'s' if len(given) == 1 else ''} the topic model saved in {saved}: the "
                           "topics are fitted anew and saved there (topics that match keep their ids)")
            try:
                previous = load_for_update(saved, self.index)
            except ParatopicError as exc:
                self._tell(f"the saved topics cannot be matched ({exc}); topic ids start afresh")
        modelled = int(fit_mask(self.index.paragraphs, include_flagged=bool(given.get("include_flagged", False))).sum())
        self._tell(f"fitting topics over {modelled} of {len(self.index)} paragraphs (boilerplate and duplicates set "
                   "aside)...")
        model = TopicModel(**{"random_state": 0, **given}).fit(self.index)
        if previous is not None:
            model = match_refit(model, previous)
            if model.history_[-1]["notes"]:
                self._tell("refit: " + "; ".join(model.history_[-1]["notes"]))
        model.save(saved, index_dir=self.directory)
        self.topics = model
        return model

    def fit_sampled_topics(self, sample_size: int, params: Mapping[str, Any] | None = None, *,
                           address: str | None = None) -> TopicModel:
        """Topics fitted on a sample of ``sample_size`` paragraphs, every paragraph then assigned
        (:func:`cluster.topics.sampled.fit_sampled`, on a Ray cluster at ``address``), saved in ``DIR/topics``."""
        from cluster.topics.sampled import fit_sampled
        from embed.store.locking import writer_lock

        given = {"random_state": 0, **{k: v for k, v in (params or {}).items() if v is not None}}
        self._tell(f"fitting topics on a sample of {min(sample_size, len(self.index))} of {len(self.index)} "
                   "paragraphs, then assigning the rest...")
        model = fit_sampled(self.index, sample_size=sample_size, address=address, **given).as_topic_model(self.index)
        with writer_lock(self.directory):
            model.save(self.directory / TOPICS_SUBDIR, index_dir=self.directory)
        self.topics = model
        return model

    def update_topics(self, *, min_documents: int = 1, method: str = "groups") -> TopicModel:
        """The saved topics (and saved stories) take the paragraphs added to the index since
        (:func:`cluster.topics.tracking.update_topics`), both saved; with no saved topics, a first fit.
        ``topics.last_update_`` says what changed (None when nothing was added)."""
        from cluster.topics.tracking import update_topics
        from cluster.workspace.saved import load_for_update, update_saved_stories

        saved = self.directory / TOPICS_SUBDIR
        if not saved.exists():
            self._tell(f"no saved topic model in {saved}: fitting one (later --update calls add to it)")
            return self.fit_topics(refit=True)
        model = update_topics(load_for_update(saved, self.index), self.index, min_documents=min_documents, method=method)
        self.topics = model
        if model.last_update_ is None:
            return model
        model.save(saved, index_dir=self.directory)
        self.stories = update_saved_stories(self.directory, model.index, model)
        return model

    def fitted_topics(self) -> TopicModel:
        """The saved topics as fitted, for reading (nothing is written): over an index that grew since, on the
        paragraphs they were fitted on, with a note on how many have no topic yet; none saved: a fit, saved."""
        from cluster.errors import IndexMismatchError
        from cluster.topics.model import TopicModel
        from cluster.workspace.saved import load_for_update
        from embed.store.index import ParagraphIndex

        saved = self.directory / TOPICS_SUBDIR
        if not saved.exists():
            return self.fit_topics()
        try:
            model = TopicModel.load(saved, index=self.index)
        except IndexMismatchError:
            idx = self.index
            n = len(load_for_update(saved, idx).index.paragraphs)  # raises unless the index only grew since the fit
            fitted = ParagraphIndex(idx.paragraphs.iloc[:n], idx.vectors[:n], embedder_description=idx.embedder_description,
                                    kind="flat", sources=idx.sources)  # the index as it was when the topics were fitted
            model = TopicModel.load(saved, index=fitted)
            self._tell(f"{len(idx) - n} paragraphs added since the topics were fitted have no topic yet; this report "
                       f"shows the topics as fitted (`paratopic topics {self.directory} --update` gives them one)")
        model.index_dir_ = self.directory
        self.topics = model
        return model

    # ------------------------------------------------------------------ stories
    def fit_stories(self, *, refit: bool = False) -> StoryModel:
        """The stories of the index: the saved ones (taking in articles added since) or, with ``refit`` or
        none saved, a new fit over the index and :attr:`topics`; saved in ``DIR/stories`` either way."""
        from cluster.stories.model import StoryModel

        saved = self.directory / STORIES_SUBDIR
        if (saved / "stories.json").is_file() and not refit:
            model = StoryModel.load(saved, self.index)
            unseen = model.unseen_articles()
            if unseen:
                self._tell(f"taking {len(unseen)} new article(s) into the saved stories...")
                model.update(self.index, self.topics)
                model.save(saved, index_dir=self.directory)
        else:
            self._tell(f"fitting stories over {self.index.paragraphs['doc_id'].nunique()} articles...")
            model = StoryModel().fit(self.index, topics=self.topics)
            model.save(saved, index_dir=self.directory)
        self.stories = model
        return model

    # ------------------------------------------------------------------- report
    def write_report(self, path: str | Path, *, format: str | None = None, title: str | None = None,
                     since: Any = None) -> Path:
        """Write the report of :attr:`topics` (as fitted: :meth:`fitted_topics` when none is loaded) and, when
        loaded or saved, :attr:`stories` to ``path`` (:func:`cluster.report.writer.write_report`)."""
        from cluster.report.writer import write_report

        topics = self.topics if self.topics is not None else self.fitted_topics()
        stories = self.stories
        if stories is None and (self.directory / STORIES_SUBDIR).exists():
            stories = self._stories_over(topics.index)
        return write_report(topics, path, format=format, title=title, since=since, stories=stories)

    def _stories_over(self, index: Any) -> StoryModel | None:
        """The saved stories over ``index`` (the topics' paragraphs), or None with a note when they do not fit."""
        from cluster.stories.model import StoryModel

        try:
            return StoryModel.load(self.directory / STORIES_SUBDIR, index)
        except ParatopicError as exc:
            self._tell(f"the saved stories are left out of the report ({exc})")
            return None

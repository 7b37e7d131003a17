"""An index folder with its saved topics and stories, opened read-only.

``Workspace.open(directory)`` loads the index in ``directory`` (or in
``directory/index``, the folder ``paratopic run`` writes), the topics saved in
``DIR/topics`` and the stories saved in ``DIR/stories`` when they are there
and fit the index. Nothing is fitted and nothing is written: what cannot be
used is left out (``None``) with a note in :attr:`Workspace.notes`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from embed.errors import InputError, ParatopicError

if TYPE_CHECKING:
    from cluster.stories.model import StoryModel
    from cluster.topics.model import TopicModel
    from embed.store.index import ParagraphIndex

__all__ = ["Workspace", "TOPICS_SUBDIR", "STORIES_SUBDIR"]

logger = logging.getLogger(__name__)

#: Where ``paratopic topics`` and ``paratopic stories`` save their models, inside the index folder.
TOPICS_SUBDIR = "topics"
STORIES_SUBDIR = "stories"


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


@dataclass
class Workspace:
    """A loaded index with its topics and stories (either may be None), for reading only.

    Attributes:
        directory: the index folder.
        index: the :class:`embed.ParagraphIndex`; when stories are loaded its paragraph table has a
            ``story`` column, so that grouped search gathers each story's hits under its best one.
        topics: the saved :class:`cluster.TopicModel`, or None.
        stories: the saved :class:`cluster.StoryModel`, or None.
        notes: why saved topics or stories were left out, one line each.
    """

    directory: Path
    index: ParagraphIndex
    topics: TopicModel | None = None
    stories: StoryModel | None = None
    notes: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, directory: str | Path) -> Workspace:
        """Load the index in ``directory`` (or ``directory/index``) and its saved topics and stories."""
        from embed.store.index import ParagraphIndex

        folder = index_folder(directory)
        index = ParagraphIndex.load(folder)
        workspace = cls(directory=folder, index=index)
        workspace._load_topics()
        workspace._load_stories()
        return workspace

    def _load_topics(self) -> None:
        saved = self.directory / TOPICS_SUBDIR
        if not (saved / "topic_model.json").is_file():
            return
        from cluster.topics.model import TopicModel

        try:
            self.topics = TopicModel.load(saved, index=self.index)
        except ParatopicError as exc:
            self._note(f"the saved topics are left out ({exc}); `paratopic topics DIR --update` brings them up to date")

    def _load_stories(self) -> None:
        saved = self.directory / STORIES_SUBDIR
        if not (saved / "stories.json").is_file():
            return
        from cluster.stories.model import StoryModel

        try:
            self.stories = StoryModel.load(saved, self.index)
        except ParatopicError as exc:
            self._note(f"the saved stories are left out ({exc}); `paratopic stories DIR` brings them up to date")
            return
        if "story" not in self.index.paragraphs.columns:
            self.index.paragraphs["story"] = self.stories.labels_

    def _note(self, message: str) -> None:
        logger.warning("%s", message)
        self.notes.append(message)

    def is_stale(self) -> bool:
        """True when a writer has saved a newer generation of the index since it was opened."""
        return self.index.is_stale()

"""``paratopic stories``: the articles of an index grouped into stories."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from paratopic.commands.common import IndexDir, Verbose, console, guarded, say, setup_logging, writing

__all__ = ["stories"]


def _story_table(info: Any, labels: dict, title: str) -> Table:
    """The stories (a ``story_info()`` table) as a rich table."""
    import pandas as pd

    table = Table(title=Text(title, style="italic"))
    for name, justify in [("story", "right"), ("headline", "left"), ("articles", "right"), ("sources", "left"),
                          ("dates", "left"), ("topic", "left")]:
        table.add_column(name, justify=justify, overflow="fold")

    def day(value: object) -> str:
        return "" if pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")

    for row in info.itertuples():
        sources = ", ".join(row.sources[:3]) + (f" +{len(row.sources) - 3}" if len(row.sources) > 3 else "")
        first, last = day(row.first_date), day(row.last_date)
        dates = first if first == last else f"{first} – {last}"
        topic = "" if row.topic is None else f"{row.topic}: {labels.get(row.topic, '')}".rstrip(": ")
        table.add_row(str(row.story), Text(str(row.headline)), str(row.n_articles), Text(sources), dates, Text(topic))
    return table


@guarded
def stories(
    directory: IndexDir,
    min_articles: Annotated[int, typer.Option(min=1, help="Show stories told by at least this many articles.")] = 2,
    refit: Annotated[bool, typer.Option(help="Fit again even if DIR/stories exists.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the stories as JSON.")] = False,
    top: Annotated[int | None, typer.Option(min=1, help="Show only the N largest stories.")] = None,
    verbose: Verbose = False,
) -> None:
    """Group the articles of an index into stories (one event across outlets) and print them.

    The stories are saved in DIR/stories; later calls load them (and take in
    articles added to the index since, keeping every story id) unless
    --refit is given. The topic column uses DIR/topics when it fits the index.
    """
    from cluster import IndexMismatchError
    from cluster.workspace import Workspace

    setup_logging(verbose)
    workspace = Workspace.load(directory, notify=say)
    topic_model = workspace.load_topics("DIR/topics was fitted on an older index; the topic column is left out "
                                        "(run `topics --update`)", tolerate=IndexMismatchError)
    writing.append(workspace.directory / "stories")
    model = workspace.fit_stories(refit=refit)
    info = model.story_info(min_articles=min_articles)
    if top is not None:
        info = info.head(top)
    if json_output:
        console.print_json(model.to_json(info))
        return
    labels = dict(zip(*topic_model.topic_info()[["topic", "label"]].to_numpy().T)) if topic_model is not None else {}
    several = int((model.story_sizes_ >= min_articles).sum())
    if not several:
        say(f"no story is told by {min_articles} or more articles (--min-articles 1 lists single-article stories)")
        return
    console.print(_story_table(info, labels, f"{several} of {model.n_stories_} stories with {min_articles}+ articles"))

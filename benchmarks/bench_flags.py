"""How right are the boilerplate flags? Precision on a judged sample, recall on the seeds.

Run:  python benchmarks/bench_flags.py            # score the judged sample with the current rules
      python benchmarks/bench_flags.py --draw     # draw a fresh (unjudged) sample; see below

The sample (``tests/data/flag_judgements.jsonl``) holds paragraphs that the
rules of commit fe5149c flagged in three readings of the evaluation data:

* ``vntc``: VNTC as shipped (one paragraph per article, since its text is
  whitespace-normalised);
* ``vntc-chunks``: VNTC articles cut into runs of whole sentences of at least
  240 characters (the paragraphs ``bench_pipeline.py`` embeds), one document
  per article;
* ``vims``: ViMs articles, paragraphs at blank lines.

Per dataset and rule, up to 80 flagged paragraphs were drawn at random
(seed 0); each was then judged by reading it in its document. The seeds'
128 paragraphs were all judged (``tests/data/seed_flag_judgements.jsonl``).

Writes benchmarks/results/flags.md: per rule, the paragraphs sampled, their
precision under the old rules, what the current rules still flag and its
precision, the true boilerplate the current rules stopped flagging, and
recall on the seeds. Reads the evaluation data from $PARATOPIC_EVAL_DIR, else ../shared/eval/.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from evaldata import EVAL

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # the judged sample lives with the tests

from flag_sample import DATASETS, JUDGED, MAX_CHARS, SEED_JUDGED, load_jsonl, read_dataset, rescore  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "flags.md"
PER_STRATUM = 80


def draw(seed: int = 0) -> pd.DataFrame:
    """Per dataset and rule, up to PER_STRATUM flagged paragraphs, drawn at random."""
    rng = np.random.default_rng(seed)
    picked = []
    for name in DATASETS:
        table = read_dataset(name, EVAL)
        flagged = table[table["boilerplate"]]
        for reason, group in flagged.groupby("boilerplate_reason", sort=True):
            take = group if len(group) <= PER_STRATUM else group.iloc[
                np.sort(rng.choice(len(group), PER_STRATUM, replace=False))]
            for row in take.itertuples():
                picked.append({"dataset": name, "doc_id": row.doc_id, "position": int(row.position),
                               "text": row.text[:MAX_CHARS], "truncated": len(row.text) > MAX_CHARS,
                               "n_words": len(row.text.split()), "rule": reason,
                               "is_boilerplate": None, "note": ""})
    return pd.DataFrame(picked)


def _precision(true: int, total: int) -> str:
    return f"{true / total:.2f} ({true}/{total})" if total else "-"


def precision_table(scored: pd.DataFrame, by: list[str]) -> list[dict]:
    """Per group: precision of the old flags, what the current rules still flag and its precision."""
    rows = []
    groups = scored.groupby(by, sort=True) if by else [((), scored)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        still = g[g["reason_now"].notna()]
        true = g["is_boilerplate"]
        rows.append({
            **dict(zip(by, key)),
            "sampled": len(g),
            "precision before": _precision(int(true.sum()), len(g)),
            "still flagged": len(still),
            "precision now": _precision(int(still["is_boilerplate"].sum()), len(still)),
            "true boilerplate no longer flagged": int((true & g["reason_now"].isna()).sum()),
            "false flags removed": int((~true & g["reason_now"].isna()).sum()),
        })
    return rows


def seed_recall() -> tuple[list[dict], pd.DataFrame]:
    """Recall (and precision) of the current rules on the 128 judged seed paragraphs."""
    from embed import read_corpus

    truth = load_jsonl(SEED_JUDGED).set_index("id")
    table = read_corpus(ROOT / "seeds").set_index("id").loc[truth.index]
    truth["reason_now"] = table["boilerplate_reason"]
    flagged_now = truth["reason_now"].notna()
    flagged_before = truth["flagged_before"].fillna("").astype(bool)
    rows = []
    for kind, g in list(truth[truth["is_boilerplate"]].groupby("kind")) + [("all", truth[truth["is_boilerplate"]])]:
        rows.append({"kind (judged)": kind, "boilerplate": len(g),
                     "recall before": _precision(int(flagged_before[g.index].sum()), len(g)),
                     "recall now": _precision(int(flagged_now[g.index].sum()), len(g))})
    rows.append({"kind (judged)": "precision (all flags)", "boilerplate": int(truth["is_boilerplate"].sum()),
                 "recall before": _precision(int((flagged_before & truth["is_boilerplate"]).sum()),
                                             int(flagged_before.sum())),
                 "recall now": _precision(int((flagged_now & truth["is_boilerplate"]).sum()), int(flagged_now.sum()))})
    return rows, truth


def population(judged: pd.DataFrame) -> list[dict]:
    """Flags in the whole of each dataset now, by reason, and how many of them the sample judged."""
    rows = []
    keys = set(zip(judged["dataset"], judged["doc_id"], judged["position"]))
    for name in DATASETS:
        flagged = read_dataset(name, EVAL).query("boilerplate")
        in_sample = [(name, d, p) in keys for d, p in zip(flagged["doc_id"], flagged["position"])]
        counts = flagged.assign(in_sample=in_sample).groupby("boilerplate_reason")["in_sample"].agg(["size", "sum"])
        rows.extend({"dataset": name, "reason": r, "flagged now": int(c["size"]), "of which judged": int(c["sum"])}
                    for r, c in counts.iterrows())
    return rows


def table(rows: list[dict]) -> str:
    return pd.DataFrame(rows).to_markdown(index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draw", type=Path, metavar="OUT.jsonl",
                        help="draw a fresh sample with the current rules into OUT.jsonl (to be judged) and stop")
    args = parser.parse_args()
    if not EVAL.is_dir():
        sys.exit(f"evaluation data not found at {EVAL}")
    if args.draw:
        sample = draw()
        args.draw.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in sample.to_dict("records")),
                             encoding="utf-8")
        print(f"{len(sample)} paragraphs to judge written to {args.draw}")
        return
    judged = load_jsonl(JUDGED)
    scored = rescore(judged, EVAL)
    seeds, truth = seed_recall()
    missed = truth[truth["is_boilerplate"] & truth["reason_now"].isna()]
    wrong = scored[scored["reason_now"].notna() & ~scored["is_boilerplate"]]
    sections = [
        "# Boilerplate flags: precision and recall", "",
        "Produced by `benchmarks/bench_flags.py` from the judged sample in `tests/data/flag_judgements.jsonl` "
        f"({len(scored)} flagged paragraphs of VNTC and ViMs, drawn per dataset and rule with seed 0 from what the "
        "rules of fe5149c flagged, each judged by reading it in its document) and the 128 judged seed paragraphs "
        "(`tests/data/seed_flag_judgements.jsonl`). `vntc` is VNTC as shipped (one paragraph per article), "
        "`vntc-chunks` the same articles as runs of whole sentences of >= 240 characters, `vims` ViMs at blank "
        "lines.", "",
        "'precision before': share of the sampled flags that are boilerplate. 'still flagged' / 'precision now': "
        "the sampled paragraphs the current rules flag, re-read in their datasets, and the share of those that are "
        "boilerplate. Strata are not weighted by size: a stratum of all 19 hits counts like one of 80 drawn "
        "from 103.", "",
        "The rules were changed after reading these same paragraphs, so 'precision now' is measured in-sample and "
        "is optimistic; the table of flags in the whole datasets says how many of today's flags were judged at all "
        "(nearly all: the current flags are a subset of the old ones).", "",
        "## Precision by rule (rule that fired at sampling time)", "", table(precision_table(scored, ["rule"])), "",
        "## Precision by dataset and rule", "", table(precision_table(scored, ["dataset", "rule"])), "",
        "## All sampled flags", "", table(precision_table(scored, [])), "",
        "## Recall on the seeds (128 paragraphs, each judged)", "", table(seeds), "",
        "## Flags in the whole datasets now", "", table(population(judged)), "",
        f"## Sampled paragraphs still flagged that are not boilerplate ({len(wrong)})", "",
        table([{"dataset": r.dataset, "id": f"{r.doc_id}:{r.position}", "reason now": r.reason_now, "note": r.note,
                "text": r.text[:90]} for r in wrong.itertuples()]) if len(wrong) else "None.", "",
        f"## Seed boilerplate not flagged now ({len(missed)})", "",
        table([{"id": i, "kind": r.kind, "text": r.text[:90]} for i, r in missed.iterrows()]) if len(missed) else "None.",
        "",
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(sections) + "\n", encoding="utf-8")
    print(OUT.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()

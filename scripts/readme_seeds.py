"""Write README.md's seeds section from a real run of the main job.

    python scripts/readme_seeds.py           # run `paratopic run seeds`, rewrite the section
    python scripts/readme_seeds.py --check   # exit 1 when README.md no longer matches a fresh run

The section lies between the two ``<!-- seeds:... -->`` markers in README.md;
``tests/test_readme.py`` runs the README's commands and checks it with
:func:`seeds_section`, so the README cannot drift from what the command gives.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
START, END = "<!-- seeds:start", "<!-- seeds:end -->"
N_KEYWORDS = 6


def run_main_job(out: Path, cwd: Path = ROOT) -> None:
    """``paratopic run seeds --out OUT`` in ``cwd`` (which holds ``seeds/``), with this interpreter."""
    command = [sys.executable, "-c", "from paratopic.cli import app; app()", "run", "seeds", "--out", str(out)]
    subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True)


def seeds_section(out: Path) -> str:
    """The README's seeds section (markers excluded) for the run saved in ``out``."""
    from cluster import TopicModel
    from cluster.topics.setaside import set_aside_counts

    model = TopicModel.load(out / "index" / "topics", index=out / "index")
    table = model.index.paragraphs
    aside = set_aside_counts(table, model.fitted_mask_)
    modelled = int(model.fitted_mask_.sum())
    info = model.topic_info()
    lines = [
        f"The topics it finds in the seeds: {len(table)} paragraphs from {table['doc_id'].nunique()} articles; "
        f"{aside['set_aside']} set aside ({aside['boilerplate']} boilerplate, {aside['duplicates']} further duplicates), "
        f"{modelled} modelled, {100 * model.outlier_share_:.0f}% left as outliers.",
        "",
        "| topic | label | paragraphs | share | keywords |",
        "|---:|---|---:|---:|---|",
    ]
    for row in info.itertuples():
        keywords = ", ".join(str(k) for k in list(row.keywords)[:N_KEYWORDS])
        lines.append(f"| {row.topic} | {row.label} | {row.size} | {row.share:.0%} | {keywords} |")
    return "\n".join(lines)


def vectors_digest(out: Path) -> str:
    """16 hex digits of SHA-256 over the run's stored vectors: equal digests, identical vectors."""
    import hashlib

    from embed import ParagraphIndex

    return hashlib.sha256(ParagraphIndex.load(out / "index").vectors.tobytes()).hexdigest()[:16]


def start_marker(digest: str) -> str:
    """The section's first line, naming the vectors it was written from."""
    return f"{START} (written by scripts/readme_seeds.py from a real run; tests/test_readme.py checks it; vectors {digest}) -->"


def readme_digest(text: str) -> str | None:
    """The vectors digest in README.md's start marker, if any."""
    line = text[text.index(START):text.index("\n", text.index(START))]
    found = re.search(r"vectors ([0-9a-f]{16})", line)
    return found.group(1) if found else None


def table_rows(section: str) -> list[tuple[str, int]]:
    """(label, paragraphs) of each topic row of a seeds section."""
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].isdigit():
            rows.append((cells[1], int(cells[2])))
    return rows


def close_enough(current: str, fresh: str) -> bool:
    """Same number of topics, sizes within 2, at least half the labels shared: what another CPU's vectors allow."""
    old, new = table_rows(current), table_rows(fresh)
    if not old or len(old) != len(new):
        return False
    sizes_close = all(abs(a - b) <= 2 for (_, a), (_, b) in zip(old, new))
    shared = len({label for label, _ in old} & {label for label, _ in new})
    return sizes_close and 2 * shared >= len(old)


def readme_section(text: str) -> str:
    """The section currently in README.md's text (markers excluded)."""
    start = text.index(START)
    body_start = text.index("\n", start) + 1
    return text[body_start:text.index(END)].strip("\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on a difference")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "seeds"
        run_main_job(out)
        fresh, digest = seeds_section(out), vectors_digest(out)
    text = README.read_text(encoding="utf-8")
    current = readme_section(text)
    if args.check:
        if current != fresh if readme_digest(text) == digest else not close_enough(current, fresh):
            sys.stderr.write(f"README.md's seeds section differs from a fresh run:\n{fresh}\n")
            return 1
        return 0
    start = text.index(START)
    README.write_text(text[:start] + start_marker(digest) + "\n" + fresh + "\n" + text[text.index(END):], encoding="utf-8")
    sys.stdout.write(fresh + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

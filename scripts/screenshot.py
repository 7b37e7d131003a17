"""Write the README's picture of the explorer, ``docs/explorer.png``, from the browser test's screenshot.

    python scripts/screenshot.py                  # runs tests/test_serve.py::test_explorer_in_chromium, then writes it
    python scripts/screenshot.py --from shot.png  # only shrinks a screenshot already taken

The browser test (headless Chromium through Playwright, on a real ``paratopic serve`` over the seeds) saves
``explorer.png`` in its temporary folder: the explorer's search beside the map, after a Vietnamese query. This
script reduces it to a 256-colour palette with Pillow (in the ``test`` extra) and writes it as an indexed PNG,
which keeps the text sharp at a third of the size.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEST = "tests/test_serve.py::test_explorer_in_chromium"
#: Larger than this, the picture is not worth keeping in the repository.
MAX_BYTES = 150_000


def shrink(source: Path, out: Path, colours: int = 256) -> tuple[int, int, int]:
    """Write ``source`` as an 8-bit palette PNG at ``out`` (Pillow's median-cut quantiser); (width, height, bytes)."""
    from PIL import Image

    with Image.open(source) as image:
        small = image.convert("RGB").quantize(colors=colours, method=Image.Quantize.MEDIANCUT)
    out.parent.mkdir(parents=True, exist_ok=True)
    small.save(out, optimize=True)
    return small.width, small.height, out.stat().st_size


def take_screenshot(folder: Path) -> Path:
    """Run the browser test with ``folder`` as pytest's temporary folder; the path of its ``explorer.png``."""
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", TEST, "--basetemp",
                           str(folder)], cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"{TEST} failed (exit {done.returncode}); no screenshot written")
    shots = sorted(folder.glob("test_explorer_in_chromium*/screenshots/explorer.png"))
    if not shots:
        raise SystemExit(f"{TEST} passed but saved no explorer.png under {folder} (was it skipped?)")
    return shots[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, help="a screenshot already taken (default: run the test)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "explorer.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="paratopic-shot-") as tmp:
        source = args.source or take_screenshot(Path(tmp) / "pytest")
        width, height, size = shrink(source, args.out)
    sys.stdout.write(f"{args.out}: {width}x{height}, 256 colours, {size / 1000:.0f} kB\n")
    if size > MAX_BYTES:
        sys.stderr.write(f"warning: {size} bytes is over {MAX_BYTES}; keep it out of the repository\n")


if __name__ == "__main__":
    main()

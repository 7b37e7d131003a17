"""Write the README's picture of the explorer, ``docs/explorer.png``, from the browser test's screenshot.

    python scripts/screenshot.py                  # runs tests/test_serve.py::test_explorer_in_chromium, then writes it
    python scripts/screenshot.py --from shot.png  # only shrinks a screenshot already taken

The browser test (headless Chromium through Playwright, on a real ``paratopic serve`` over the seeds) saves
``explorer.png`` in its temporary folder: the explorer's search beside the map, after a Vietnamese query. This
script reduces it to a 256-colour palette (the most frequent colours; every other pixel takes the nearest) and
writes it as an indexed PNG, which keeps the text sharp at a third of the size. The pixels are read by the same
Chromium (a canvas), so nothing beyond the test's own dependencies is needed.
"""

from __future__ import annotations

import argparse
import base64
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TEST = "tests/test_serve.py::test_explorer_in_chromium"
#: Larger than this, the picture is not worth keeping in the repository.
MAX_BYTES = 150_000

READ_PIXELS = """async (src) => {
  const img = new Image(); img.src = src; await img.decode();
  const c = document.createElement("canvas"); c.width = img.width; c.height = img.height;
  const g = c.getContext("2d"); g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  let s = ""; for (let i = 0; i < d.length; i += 0x8000) s += String.fromCharCode.apply(null, d.subarray(i, i + 0x8000));
  return [c.width, c.height, btoa(s)];
}"""


def read_pixels(png: Path) -> np.ndarray:
    """The RGB pixels of ``png`` (height x width x 3, uint8), decoded by headless Chromium."""
    sys.path.insert(0, str(REPO / "tests"))
    from browser import CHROMIUM_ARGS, chromium_path
    from playwright.sync_api import sync_playwright

    src = "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        width, height, data = browser.new_page().evaluate(READ_PIXELS, src)
        browser.close()
    return np.frombuffer(base64.b64decode(data), dtype=np.uint8).reshape(height, width, 4)[:, :, :3]


def quantize(rgb: np.ndarray, colours: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(palette (n x 3), indices (height x width)): the ``colours`` most frequent colours, every other pixel
    mapped to the nearest of them."""
    flat = rgb.reshape(-1, 3).astype(np.int32)
    keys = (flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2]
    unique, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    # rank coarse boxes (4 bits a channel), not exact colours: the many shades of anti-aliased text share a few
    # boxes and leave room for the map's rarer point colours; each box is drawn in its most frequent colour
    boxes = ((unique >> 20) & 15) << 8 | ((unique >> 12) & 15) << 4 | ((unique >> 4) & 15)
    order = np.lexsort((-counts, boxes))  # by box, most frequent colour first
    first = order[np.r_[True, boxes[order][1:] != boxes[order][:-1]]]
    box_counts = np.bincount(boxes, weights=counts, minlength=4096)[boxes[first]]
    top = first[np.argsort(-box_counts, kind="stable")[:colours]]
    palette = np.stack([(unique[top] >> 16) & 255, (unique[top] >> 8) & 255, unique[top] & 255], axis=1)
    nearest = np.empty(len(unique), dtype=np.uint8)
    colours_of = np.stack([(unique >> 16) & 255, (unique >> 8) & 255, unique & 255], axis=1)
    for start in range(0, len(unique), 4096):
        block = colours_of[start:start + 4096, None, :] - palette[None, :, :]
        nearest[start:start + 4096] = np.argmin((block * block).sum(axis=2), axis=1)
    return palette.astype(np.uint8), nearest[inverse.reshape(-1)].reshape(rgb.shape[:2])


def write_indexed_png(path: Path, palette: np.ndarray, indices: np.ndarray) -> int:
    """Write an 8-bit palette PNG; returns its size in bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    height, width = indices.shape
    rows = np.concatenate([np.zeros((height, 1), dtype=np.uint8), indices.astype(np.uint8)], axis=1)  # filter 0
    body = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0))
            + chunk(b"PLTE", palette.tobytes()) + chunk(b"IDAT", zlib.compress(rows.tobytes(), 9)) + chunk(b"IEND", b""))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return len(body)


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
        palette, indices = quantize(read_pixels(source))
        size = write_indexed_png(args.out, palette, indices)
    sys.stdout.write(f"{args.out}: {indices.shape[1]}x{indices.shape[0]}, {len(palette)} colours, "
                     f"{size / 1000:.0f} kB\n")
    if size > MAX_BYTES:
        sys.stderr.write(f"warning: {size} bytes is over {MAX_BYTES}; keep it out of the repository\n")


if __name__ == "__main__":
    main()

"""Record what a release says about its own saved index folder, for tests/test_saved_fixtures.py.

Made the fixture with the release at 1258a3b::

    git worktree add /tmp/old-main 1258a3b && cd /tmp/old-main
    PYTHONPATH=$PWD python -m paratopic.cli run seeds --out /tmp/oldrun
    PYTHONPATH=$PWD python <repo>/tests/data/saved_expected.py /tmp/oldrun/index <repo>/tests/data/saved-1258a3b.expected.json

and copied /tmp/oldrun/index (less its empty .paratopic.lock files) to tests/data/saved-1258a3b/. Uses only
names both releases export (``from embed import ...``, ``from cluster import ...``).
"""

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from cluster import StoryModel, TopicModel
from embed import ParagraphIndex

ICBM = "Triều Tiên phóng tên lửa đạn đạo liên lục địa"


def main(folder: Path, target: Path) -> None:
    idx = ParagraphIndex.load(folder)
    topics = TopicModel.load(folder / "topics", index=idx)
    stories = StoryModel.load(folder / "stories", idx)
    hits = idx.search(ICBM, k=5).to_frame()
    out = {
        "made_by": "1258a3b: paratopic run seeds --out OUT; then this script on OUT/index with the same release",
        "n_paragraphs": len(idx),
        "paragraph_ids": idx.paragraphs["id"].tolist(),
        "vectors_sha256": hashlib.sha256(np.ascontiguousarray(idx.vectors, dtype=np.float32).tobytes()).hexdigest(),
        "info": idx.info(),
        "icbm_query": ICBM,
        "icbm_hits": [{"id": r["id"], "score": round(float(r["score"]), 6)} for r in hits.to_dict("records")],
        "topic_labels": np.asarray(topics.labels_).tolist(),
        "topic_info": json.loads(topics.topic_info().to_json(orient="records", force_ascii=False)),
        "story_labels": np.asarray(stories.labels_).tolist(),
        "story_info": json.loads(stories.story_info().to_json(orient="records", force_ascii=False, date_format="iso")),
    }
    target.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))

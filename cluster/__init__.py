"""paratopic.cluster: topics over a paragraph index (UMAP + HDBSCAN), keywords and reports."""

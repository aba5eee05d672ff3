"""Digest core: models, queries, queue, account pool, rewriter and digest rendering."""

"""The corpus: one JSON record per article version, derived from the WARCs.

``records`` writes and reads the gzip JSONL generation files (``read`` is the reader
downstream tools use), ``export`` writes Parquet/JSONL, ``reextract`` writes a new
generation from the WARCs with the current extractor.
"""

from __future__ import annotations

from archive.corpus.records import CorpusWriter, corpus_files, read

__all__ = ["CorpusWriter", "corpus_files", "read"]

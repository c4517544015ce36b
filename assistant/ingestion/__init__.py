"""Stages 1-2 and the ingest pipeline: load and clean guides, chunk them, then plan -> embed -> write -> swap.

- :mod:`~assistant.ingestion.corpus`: guide files (text, Markdown, HTML, PDF) -> cleaned :class:`Document`;
- :mod:`~assistant.ingestion.chunking`: a document -> passages that follow its headings and lists;
- :mod:`~assistant.ingestion.pipeline`: ``ingest``, ``remove``, ``library`` over :mod:`assistant.store`;
- :mod:`~assistant.ingestion.passages`: ``passages`` (how a guide was cut) and their sizes.

(The package is ``ingestion`` because ``assistant.ingest`` is the public API function.)
"""

from assistant.ingestion.corpus import SUPPORTED_SUFFIXES, load_document, source_id
from assistant.ingestion.passages import passage_summary, passage_summary_line, passages
from assistant.ingestion.pipeline import ingest, library, remove

__all__ = ["SUPPORTED_SUFFIXES", "ingest", "library", "load_document", "passage_summary", "passage_summary_line", "passages", "remove", "source_id"]

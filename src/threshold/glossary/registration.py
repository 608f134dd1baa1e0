"""The glossary's part in the platform: its approved terms are synonyms of the catalog search."""

from __future__ import annotations


def register() -> None:
    from threshold.catalog.search import add_synonyms
    from threshold.glossary.synonyms import lookup

    add_synonyms(lookup)

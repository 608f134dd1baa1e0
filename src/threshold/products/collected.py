"""What another capability adds to a product's contract (compliance: the collection register), declared here so
that its registration does not import the contract code (the ODCS model, pydantic) on every platform's start."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

CollectionLookup = Callable[[Session, int], list[dict[str, Any]]]

COLLECTION_PROPERTIES: list[CollectionLookup] = []
"""Who adds the collection register to a contract (compliance registers itself: `add_collection_properties`)."""


def add_collection_properties(lookup: CollectionLookup) -> None:
    if lookup not in COLLECTION_PROPERTIES:
        COLLECTION_PROPERTIES.append(lookup)


def collected(s: Session, dataset_id: int) -> list[dict[str, Any]]:
    """The custom properties every registered lookup adds for the dataset `dataset_id`."""
    return [p for lookup in COLLECTION_PROPERTIES for p in lookup(s, dataset_id)]

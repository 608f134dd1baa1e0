"""How detectors weigh evidence: hints in a column's label, the share of matching values, confidence.

Every detector follows the same rule: it fires when a clear majority of the sampled values match;
a label that names the kind of data lowers that bar, and raises the confidence.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from threshold.sharing.detectors.column import Column

T = TypeVar("T")

_PROBE = 100
"""Values checked first on a long sample; a detector far below its bar there stops early."""


@dataclass(frozen=True)
class Hints:
    """Label hints for one kind of data: whole words, or fragments of the run-together label."""

    words: frozenset[str] = frozenset()
    """Matched against each folded word of the label ("tel", "dob")."""
    fragments: tuple[str, ...] = ()
    """Found anywhere in the run-together label, for compounds and phrases ("telefon", "dateofbirth")."""

    def match(self, column: Column) -> bool:
        return any(w in self.words for w in column.words) or any(f in column.compact for f in self.fragments)


def hints(words: Iterable[str] = (), fragments: Iterable[str] = ()) -> Hints:
    return Hints(frozenset(words), tuple(fragments))


def share_of(column: Column, test: Callable[[str], bool], bar: float) -> float:
    """The share of sampled values whose text (strings and integers, stripped) passes `test`."""
    return _share(column.texts, column.size, test, bar)


def share_of_values(column: Column, test: Callable[[object], bool], bar: float) -> float:
    """The share of sampled values, as they are (str, int, float, date ...), that pass `test`."""
    return _share(column.sample, column.size, test, bar)


def _share(items: Sequence[T], size: int, test: Callable[[T], bool], bar: float) -> float:
    # On a long sample an evenly spread probe is checked first: when it is far below `bar` its share
    # is returned as is (the detector will not fire either way), which keeps detection fast.
    if not items or size == 0:
        return 0.0
    if len(items) > 2 * _PROBE:
        probe = items[:: len(items) // _PROBE]
        estimate = sum(map(test, probe)) / len(probe)
        if estimate < bar - 0.25:
            return estimate * len(items) / size
    return sum(map(test, items)) / size


def confidence(share: float, hinted: bool) -> float:
    """From 0.4 (no matching values) to 0.95 (all match); a label that agrees adds 0.04."""
    return round(min(0.99, 0.4 + 0.55 * share + (0.04 if hinted else 0.0)), 2)


def percent(share: float) -> str:
    """A share as a whole percentage, rounded down so that "100%" means every value."""
    return f"{math.floor(share * 100 + 1e-9)}%"


def sampled(column: Column, share: float, what: str, hinted: bool) -> str:
    """The usual reason: "92% of 40 sampled values look like e-mail addresses; the column name agrees"."""
    values = "value looks" if column.size == 1 else "values look"
    text = f"{percent(share)} of {column.size} sampled {values} like {what}"
    return text + ("; the column name agrees" if hinted else "")


# Words in a label that say the column describes things, not people: detectors whose values alone
# are weak evidence (names, dates, plain numbers) stay quiet on such columns.
THINGS = frozenset(
    """
    product produkt produit producto prodotto artikel article item sku part teil file datei fichier
    archivo dataset table tabelle column spalte field company firma firmen entreprise empresa
    bedrijf foretag vendor supplier lieferant fournisseur manufacturer hersteller brand marke marque
    plant anlage werk machine maschine device geraet gerat sensor host server station city stadt
    ville ciudad stad town country land pays pais region street strasse rue calle straat gata
    project projekt team department abteilung store shop site category kategorie categorie model
    modell ship vessel vehicle fahrzeug order bestellung commande pedido bestelling invoice rechnung
    facture factura factuur shipment delivery lieferung lot batch charge serial version release
    build event transaction booking payment zahlung hotel airport organisation organization org
    storm hurricane typhoon cyclone pet dog cat horse animal tier hund katze species genus font
    color colour farbe couleur bestell liefer rechnung buchung auftrag vertrag
    """.split()
)


_COMPOUND_HEADS = tuple(sorted(t for t in THINGS if len(t) >= 5))


def describes_things(column: Column) -> bool:
    """True when a word of the label, or the start of a compound ("Produktname", "orderdate"), is a thing."""
    for word in column.words:
        if word in THINGS or (word.endswith("s") and word[:-1] in THINGS):
            return True
        # A compound: a thing followed by at least three more letters ("ordered" is no compound).
        if any(word.startswith(t) and len(word) >= len(t) + 3 for t in _COMPOUND_HEADS):
            return True
    return False

"""People's names, from the column label (in several languages) and from the values.

The label is read as words: "first_name", "Vorname", "nom de famille", "Customer Name", "operator"
point to people; "product_name", "file_name", "name_of_machine" point to things. The values count
when they are shaped like names (a few words of letters, no digits, no company suffix) and contain
given names or surnames from `names.txt`.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from threshold.sharing.detectors.column import Column, Detection, fold
from threshold.sharing.detectors.evidence import describes_things, percent, share_of

# Words that are a person's name on their own, and run-together forms of the usual phrases.
_PERSON_NAME_WORDS = frozenset(
    """
    firstname lastname surname surnames forename forenames givenname familyname fullname middlename
    maidenname vorname vornamen nachname nachnamen familienname rufname geburtsname prenom prenoms
    apellido apellidos voornaam voornamen achternaam tussenvoegsel fornamn efternamn fornavn efternavn
    etternavn sukunimi etunimi cognome sobrenome nazwisko imie
    """.split()
)
_PERSON_NAME_FRAGMENTS = (
    "firstname",
    "lastname",
    "fullname",
    "givenname",
    "familyname",
    "middlename",
    "maidenname",
    "nomdefamille",
    "nomcomplet",
    "nombrecompleto",
    "vornameundname",
    "namevorname",
)
_NAME_WORDS = frozenset("name names nom noms nombre nombres naam namen namn nome navn nimi".split())
# With a name word these make it a person's name ("first name", "nom complet").
_QUALIFIERS = frozenset("first last given family full middle maiden legal preferred display complet completo".split())
# People's roles, alone ("operator", "Ansprechpartner") or with a name word ("customer name").
_ROLES = frozenset(
    """
    customer customers client clients kunde kunden klant klanten kund cliente employee employees mitarbeiter
    staff personnel medewerker anstalld employe salarie empleado operator bediener person people personne
    persona persoon patient patienten paciente contact kontakt ansprechpartner contactpersoon kontaktperson
    interlocuteur driver fahrer chauffeur conductor technician techniker monteur manager supervisor owner
    author autor auteur member mitglied student schuler teacher lehrer applicant bewerber candidate kandidat
    guest gast passenger recipient empfanger destinataire sender absender expediteur buyer seller agent doctor
    arzt nurse physician holder inhaber titulaire cardholder beneficiary signatory assignee reporter approver
    requester inspector pruefer prufer auditor volunteer donor resident tenant mieter landlord vermieter
    visitor besucher attendee participant teilnehmer deelnemer speaker representative salesperson vertreter
    bearbeiter sachbearbeiter verantwortlicher responsible responsable worker arbeiter pilot captain engineer
    analyst consultant berater contractor creator editor signer witness insured policyholder claimant debtor
    borrower guarantor spouse parent father mother vater mutter handlaggare rep
    """.split()
)
_NEUTRAL = frozenset("of the de du des la le del der den van von s col field value text str and or en y".split())
# Words that say the column holds something about the person other than the name.
_NOT_THE_NAME = frozenset(
    """
    id ids nr no num number nummer numero code key ref reference count type typ email mail phone tel date
    datum address adresse age gender sex status title role initial initials length len hash token score rating
    segment group level size signature
    """.split()
)
# German, Dutch and Swedish compounds: "Kundenname", "klantnaam", "kundnamn".
_COMPOUND = re.compile(
    r"(?:vor|nach|familien|ruf|geburts|kunden|mitarbeiter|patienten|personen|fahrer|bediener|madchen"
    r"|voor|achter|klant|familie|roep|meisjes|for|efter|kund|flick)(?:name|naam|namn)"
)

_NAME_SHAPE = re.compile(r"[^\W\d_]+\.?(?:(?:\s+|\s*,\s*|-|'|’)[^\W\d_]+\.?){0,5}")
_TOKEN_SPLIT = re.compile(r"[\s,.\-]+")
_COMPANY_WORDS = frozenset(
    """
    inc ltd llc gmbh ag sa sas sarl srl spa bv nv ab asa oy plc corp corporation company co group gruppe
    holding holdings kg ohg ev se limited partners solutions systems services technologies tech consulting
    bank foundation stiftung verein university universitat hospital klinik school schule hotel restaurant
    cafe shop store market markt team dept department
    """.split()
)

STRONG, WEAK, NONE = 2, 1, 0


@cache
def common_names() -> frozenset[str]:
    """Common given names and surnames (folded, lower-case), from `names.txt` beside this module."""
    text = resources.files(__package__).joinpath("names.txt").read_text(encoding="utf-8")
    return frozenset(fold(line.strip()) for line in text.splitlines() if line.strip() and line[0] != "#")


def label_hint(column: Column) -> int:
    """STRONG when the label names a person's name, WEAK when it only may ("name", "contact"), else NONE."""
    words = [w for w in column.words if w not in _NEUTRAL and not w.isdigit()]
    if not words or any(w in _NOT_THE_NAME for w in words):
        return NONE
    strong = any(w in _PERSON_NAME_WORDS or _COMPOUND.fullmatch(w) for w in words)
    if strong or any(f in column.compact for f in _PERSON_NAME_FRAGMENTS):
        return STRONG
    has_name = any(w in _NAME_WORDS for w in words)
    person = any(w in _ROLES or w in _QUALIFIERS for w in words)
    if has_name and person:
        return STRONG
    others = [w for w in words if w not in _NAME_WORDS and w not in _ROLES]
    if others:
        return NONE
    return WEAK if has_name or person else NONE


NOT_A_NAME, NAME_SHAPED, COMMON_NAME = 0, 1, 2


def name_kind(text: str) -> int:
    """COMMON_NAME for a name with a given name or surname from the list ("Anna-Lena Müller"),
    NAME_SHAPED for a few words of letters without a company suffix ("Smith, J."), else NOT_A_NAME."""
    if not 2 <= len(text) <= 60 or not _NAME_SHAPE.fullmatch(text):
        return NOT_A_NAME
    tokens = [t for t in _TOKEN_SPLIT.split(fold(text).replace("'", "").replace("’", "")) if t]
    if any(t in _COMPANY_WORDS for t in tokens):
        return NOT_A_NAME
    names = common_names()
    return COMMON_NAME if any(t in names for t in tokens) else NAME_SHAPED


class PersonNameDetector:
    tag = "personal.name"

    def detect(self, column: Column) -> Detection | None:
        hint = label_hint(column)
        if hint == NONE and describes_things(column):
            return None
        bar = {STRONG: 0.5, WEAK: 0.7, NONE: 0.8}[hint]
        kinds: dict[str, int] = {}  # a column repeats its names: judge each distinct value once

        def kind(text: str) -> int:
            found = kinds.get(text)
            if found is None:
                found = kinds[text] = name_kind(text)
            return found

        shaped = share_of(column, lambda t: kind(t) != NOT_A_NAME, bar)
        if shaped < bar:
            return None
        common = share_of(column, lambda t: kind(t) == COMMON_NAME, 0.0)
        detail = (
            f"{percent(shaped)} of {column.size} sampled values look like names, "
            f"{percent(common)} contain a common given name or surname"
        )
        if hint == STRONG:
            reason = f"the column name suggests people's names; {detail}"
            return Detection(self.tag, round(0.8 + 0.15 * common, 2), reason)
        if hint == WEAK and common >= 0.3:
            reason = f"the column name may mean people's names; {detail}"
            return Detection(self.tag, round(0.6 + 0.3 * common, 2), reason)
        if common >= 0.6:
            return Detection(self.tag, round(0.4 + 0.5 * common, 2), detail)
        return None

"""The demo company, Aurora Materials: its domains, its people and their habits with data.

The named people are the ones the story and the README talk about (anna runs a plant's data in
Manufacturing, ben forecasts energy costs in Finance). `people(scale)` keeps them and adds generated
colleagues when the demo is built larger, so a 100x build is the same company, only bigger.
"""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass, field

COMPANY = "Aurora Materials"
MAIL_DOMAIN = "aurora-materials.example"
PASSWORD = "demo"

HABITS = ("daily", "weekly", "occasional", "never")
"""How often a person queries: several times a working day, on a report day or two a week,
now and then, or not at all (they have an account and never used it)."""
INTERFACES = ("web", "cli", "python", "api")


@dataclass(frozen=True)
class DomainSpec:
    name: str
    title: str
    description: str


DOMAINS = (
    DomainSpec(
        "manufacturing",
        "Manufacturing",
        "Five plants (Darmstadt, Gernsheim, Lyon, Porto, Tempe): production lines, machines, maintenance "
        "and quality inspections.",
    ),
    DomainSpec(
        "supply_chain",
        "Supply Chain",
        "Suppliers, inbound and outbound shipments, inventory at the plants and air-freight lanes.",
    ),
    DomainSpec(
        "sales",
        "Sales",
        "Customers and orders in EMEA, the Americas and APAC. Consumes a lot, shares little so far.",
    ),
    DomainSpec(
        "finance",
        "Finance",
        "Invoices, cost centres, energy contracts and market data; month-end close and forecasts.",
    ),
    DomainSpec("hr", "Human Resources", "Employees, absences and trainings; headcount planning for the plants."),
    DomainSpec(
        "r_and_d",
        "Research & Development",
        "Materials research: experiments, lab samples and public reference data used as benchmarks.",
    ),
)


@dataclass(frozen=True)
class PersonSpec:
    name: str
    display_name: str
    domains: tuple[str, ...]
    """First one is the person's home domain; a few people belong to two."""
    habit: str
    interface: str
    """The interface the person mostly uses; they switch now and then."""
    title: str
    site: str
    owner: bool = False
    """Owner of their home domain."""
    anchors: tuple[str, ...] = field(default=())
    """Questions this person asks every week whatever their habit (the story's recurring reports)."""

    @property
    def email(self) -> str:
        return f"{re.sub(r'[^a-z0-9]+', '.', fold(self.display_name)).strip('.')}@{MAIL_DOMAIN}"

    @property
    def first_name(self) -> str:
        return self.display_name.split(" ", 1)[0]

    @property
    def last_name(self) -> str:
        return self.display_name.split(" ", 1)[1]


def _p(
    name: str,
    display: str,
    domains: str,
    habit: str,
    interface: str,
    title: str,
    site: str,
    owner: bool = False,
    anchors: tuple[str, ...] = (),
) -> PersonSpec:
    return PersonSpec(name, display, tuple(domains.split()), habit, interface, title, site, owner, anchors)


# fmt: off
NAMED_PEOPLE = (
    # Manufacturing: anna owns the plant KPIs the whole company ends up using.
    _p("anna", "Anna Schmidt", "manufacturing", "daily", "web", "Plant data lead", "Darmstadt", owner=True),
    _p("markus", "Markus Weber", "manufacturing", "weekly", "web", "Head of production", "Darmstadt",
       owner=True),
    _p("jonas", "Jonas Becker", "manufacturing", "daily", "python", "Process engineer", "Gernsheim"),
    _p("lea", "Lea Fischer", "manufacturing", "weekly", "web", "Quality engineer", "Darmstadt"),
    _p("tomasz", "Tomasz Nowak", "manufacturing", "weekly", "cli", "Maintenance planner", "Gernsheim"),
    _p("sofia", "Sofia Rossi", "manufacturing", "occasional", "web", "Shift supervisor", "Porto"),
    _p("pierre", "Pierre Laurent", "manufacturing supply_chain", "daily", "web", "Plant logistics", "Lyon"),
    _p("emre", "Emre Yilmaz", "manufacturing", "never", "web", "Line technician", "Darmstadt"),
    # Supply chain
    _p("carlos", "Carlos Garcia", "supply_chain", "daily", "web", "Head of supply chain", "Darmstadt",
       owner=True),
    _p("ingrid", "Ingrid Johansson", "supply_chain", "daily", "python", "Demand planner", "Darmstadt",
       anchors=("capacity_planning",)),
    _p("david", "David Cohen", "supply_chain", "weekly", "api", "Logistics analyst", "Tempe"),
    _p("nina", "Nina Petrova", "supply_chain", "weekly", "web", "Procurement manager", "Darmstadt",
       anchors=("supplier_risk",)),
    _p("lukas", "Lukas Wagner", "supply_chain", "occasional", "web", "Buyer", "Gernsheim"),
    _p("fatima", "Fatima El Amrani", "supply_chain", "weekly", "cli", "Warehouse lead", "Lyon"),
    # Sales: the domain that consumes much and shares little.
    _p("carla", "Carla Moreau", "sales", "daily", "web", "Head of sales EMEA", "Lyon", owner=True),
    _p("julia", "Julia Hoffmann", "sales", "daily", "web", "Sales operations", "Darmstadt",
       anchors=("delivery_promise", "weekly_sales")),
    _p("james", "James Wilson", "sales", "weekly", "api", "Key account manager", "Tempe"),
    _p("mehmet", "Mehmet Demir", "sales", "weekly", "web", "Account manager", "Darmstadt"),
    _p("olivia", "Olivia Brown", "sales", "weekly", "python", "Sales analyst", "Tempe"),
    _p("paolo", "Paolo Bianchi", "sales", "occasional", "web", "Account manager", "Porto"),
    _p("hannah", "Hannah Klein", "sales", "daily", "python", "Pricing analyst", "Darmstadt"),
    _p("sven", "Sven Larsen", "sales", "occasional", "web", "Sales engineer", "Darmstadt"),
    # Finance: ben forecasts energy costs from Manufacturing's plant KPIs every week.
    _p("claudia", "Claudia Braun", "finance", "weekly", "web", "Head of controlling", "Darmstadt",
       owner=True),
    _p("ben", "Ben Carter", "finance", "daily", "web", "Energy controller", "Darmstadt",
       anchors=("energy_forecast",)),
    _p("marta", "Marta Kowalska", "finance", "daily", "python", "Financial analyst", "Darmstadt"),
    _p("henrik", "Henrik Berg", "finance", "weekly", "cli", "Accountant", "Darmstadt"),
    _p("aisha", "Aisha Khan", "finance sales", "occasional", "web", "Commercial controller", "Darmstadt"),
    _p("tobias", "Tobias Richter", "finance", "never", "web", "Treasury", "Darmstadt"),
    # HR
    _p("sabine", "Sabine Keller", "hr", "weekly", "web", "Head of HR", "Darmstadt", owner=True),
    _p("oliver", "Oliver Schulz", "hr", "weekly", "web", "Workforce planner", "Darmstadt",
       anchors=("shift_staffing",)),
    _p("elena", "Elena Popescu", "hr", "occasional", "web", "HR business partner", "Lyon"),
    _p("ravi", "Ravi Sharma", "hr", "occasional", "api", "HR systems", "Tempe"),
    # R&D
    _p("wei", "Wei Zhang", "r_and_d", "daily", "python", "Head of materials research", "Darmstadt",
       owner=True),
    _p("priya", "Priya Patel", "r_and_d", "weekly", "python", "Lab manager", "Darmstadt", owner=True),
    _p("felix", "Felix Neumann", "r_and_d", "daily", "python", "Data scientist", "Darmstadt"),
    _p("laura", "Laura Martin", "r_and_d", "weekly", "web", "Research scientist", "Lyon"),
    _p("kenji", "Kenji Tanaka", "r_and_d", "occasional", "api", "Research scientist", "Tempe"),
    _p("mia", "Mia Andersen", "r_and_d", "never", "web", "Lab technician", "Darmstadt"),
    _p("lars", "Lars Eriksson", "r_and_d manufacturing", "weekly", "python", "Process development",
       "Gernsheim"),
    _p("chloe", "Chloe Dubois", "sales", "never", "web", "Sales assistant", "Lyon"),
)
# fmt: on

# Where generated colleagues work, by home domain (weights of a bigger company's headcount).
_DOMAIN_WEIGHTS = {
    "manufacturing": 30,
    "supply_chain": 16,
    "sales": 20,
    "finance": 12,
    "hr": 8,
    "r_and_d": 14,
}
_HABIT_WEIGHTS = {"daily": 18, "weekly": 37, "occasional": 30, "never": 15}
_INTERFACE_WEIGHTS = {"web": 50, "python": 22, "cli": 14, "api": 14}
_TITLES = {
    "manufacturing": ("Process engineer", "Shift supervisor", "Line technician", "Quality engineer"),
    "supply_chain": ("Buyer", "Logistics analyst", "Demand planner", "Warehouse lead"),
    "sales": ("Account manager", "Sales analyst", "Key account manager", "Sales engineer"),
    "finance": ("Financial analyst", "Accountant", "Controller", "Treasury analyst"),
    "hr": ("HR business partner", "Recruiter", "Payroll specialist", "Workforce planner"),
    "r_and_d": ("Research scientist", "Lab technician", "Data scientist", "Application engineer"),
}

SITES = ("Darmstadt", "Gernsheim", "Lyon", "Porto", "Tempe")
"""The five plants; the company's offices are at the plants."""

# Given names and surnames per site's locale (all common, so the name detector knows them).
NAME_POOLS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "de": (
        (
            "Anna",
            "Lukas",
            "Jonas",
            "Lea",
            "Lena",
            "Felix",
            "Max",
            "Paul",
            "Laura",
            "Sophie",
            "Tim",
            "Julia",
            "Sarah",
            "Jan",
            "Katharina",
            "Stefan",
            "Thomas",
            "Michael",
            "Sabine",
            "Andrea",
            "Markus",
            "Claudia",
            "Tobias",
            "Daniel",
            "Nina",
            "Moritz",
            "Hannah",
            "Frank",
            "Petra",
            "Uwe",
        ),
        (
            "Müller",
            "Schmidt",
            "Schneider",
            "Fischer",
            "Weber",
            "Meyer",
            "Wagner",
            "Becker",
            "Schulz",
            "Hoffmann",
            "Koch",
            "Richter",
            "Klein",
            "Wolf",
            "Neumann",
            "Schwarz",
            "Zimmermann",
            "Braun",
            "Krüger",
            "Hofmann",
            "Hartmann",
            "Lange",
            "Werner",
            "Krause",
            "Lehmann",
            "Keller",
        ),
    ),
    "fr": (
        (
            "Jean",
            "Marie",
            "Pierre",
            "Claire",
            "Julien",
            "Camille",
            "Nicolas",
            "Sophie",
            "Antoine",
            "Chloé",
            "Lucas",
            "Manon",
            "Thomas",
            "Élodie",
            "Mathieu",
            "Isabelle",
            "Hugo",
            "Céline",
        ),
        (
            "Martin",
            "Bernard",
            "Dubois",
            "Durand",
            "Leroy",
            "Moreau",
            "Laurent",
            "Simon",
            "Michel",
            "Lefebvre",
            "Fournier",
            "Girard",
            "Bonnet",
            "Dupont",
            "Lambert",
            "Fontaine",
        ),
    ),
    "pt": (
        (
            "João",
            "Ana",
            "Pedro",
            "Maria",
            "Tiago",
            "Inês",
            "Rui",
            "Beatriz",
            "Miguel",
            "Sofia",
            "Nuno",
            "Carla",
            "Diogo",
            "Marta",
        ),
        (
            "Silva",
            "Santos",
            "Ferreira",
            "Pereira",
            "Oliveira",
            "Costa",
            "Rodrigues",
            "Martins",
            "Sousa",
            "Fernandes",
            "Gonçalves",
            "Carvalho",
            "Ribeiro",
            "Almeida",
        ),
    ),
    "us": (
        (
            "James",
            "Emily",
            "Michael",
            "Jessica",
            "David",
            "Ashley",
            "Chris",
            "Sarah",
            "Robert",
            "Jennifer",
            "Daniel",
            "Megan",
            "Carlos",
            "Maria",
            "Kevin",
            "Laura",
            "Brian",
            "Nicole",
        ),
        (
            "Smith",
            "Johnson",
            "Williams",
            "Jones",
            "Garcia",
            "Miller",
            "Davis",
            "Rodriguez",
            "Martinez",
            "Anderson",
            "Taylor",
            "Thomas",
            "Moore",
            "Jackson",
            "Lopez",
            "Lee",
            "Harris",
            "Clark",
        ),
    ),
    "intl": (
        (
            "Aisha",
            "Wei",
            "Priya",
            "Kenji",
            "Mehmet",
            "Fatima",
            "Tomasz",
            "Ingrid",
            "Sven",
            "Paolo",
            "Elena",
            "Ravi",
            "Olga",
            "Piotr",
            "Giulia",
            "Javier",
            "Yuki",
            "Ahmed",
            "Lars",
            "Astrid",
            "Marco",
            "Zeynep",
        ),
        (
            "Khan",
            "Zhang",
            "Patel",
            "Tanaka",
            "Demir",
            "Nowak",
            "Johansson",
            "Larsen",
            "Bianchi",
            "Popescu",
            "Sharma",
            "Ivanova",
            "Kowalski",
            "Rossi",
            "Fernandez",
            "Sato",
            "Hassan",
            "Eriksson",
            "Nielsen",
            "Ricci",
            "Yilmaz",
            "Kaya",
            "Wang",
            "Li",
        ),
    ),
}
SITE_LOCALE = {"Darmstadt": "de", "Gernsheim": "de", "Lyon": "fr", "Porto": "pt", "Tempe": "us"}


def fold(text: str) -> str:
    """ASCII lower case: "Élodie Müller" -> "elodie muller" (for user names and e-mail addresses)."""
    ascii_text = unicodedata.normalize("NFKD", text.replace("ß", "ss")).encode("ascii", "ignore").decode()
    return ascii_text.lower()


def user_name(display_name: str, taken: set[str]) -> str:
    """A free user name: the first name, else first_last, else first_last_2 ..."""
    parts = [re.sub(r"[^a-z0-9]+", "_", p).strip("_") for p in fold(display_name).split(" ", 1)]
    candidates = [parts[0], "_".join(parts)]
    for c in candidates:
        if c and c not in taken:
            return c[:63]
    n = 2
    while f"{candidates[-1]}_{n}" in taken:
        n += 1
    return f"{candidates[-1]}_{n}"[:63]


def random_name(rng: random.Random, locale: str) -> str:
    given, family = NAME_POOLS[locale]
    return f"{rng.choice(given)} {rng.choice(family)}"


def people(scale: float, seed: int) -> list[PersonSpec]:
    """The company's people: the named ones (a core of them below scale 1) plus generated colleagues.

    About 40 at scale 1 and 40 x scale above it. Every domain keeps its owners and every
    anchor person (their weekly reports are the story), whatever the scale.
    """
    target = max(1, round(len(NAMED_PEOPLE) * scale))
    if target < len(NAMED_PEOPLE):
        core = [p for p in NAMED_PEOPLE if p.owner or p.anchors]
        rest = [p for p in NAMED_PEOPLE if p not in core]
        keep = {p.name for p in core} | {p.name for p in rest[: max(0, target - len(core))]}
        return [p for p in NAMED_PEOPLE if p.name in keep]
    rng = random.Random(seed * 7919 + 1)
    out = list(NAMED_PEOPLE)
    taken = {p.name for p in out} | {"admin"}
    seen_display = {p.display_name for p in out}
    domains = list(_DOMAIN_WEIGHTS)
    for _ in range(target - len(NAMED_PEOPLE)):
        domain = rng.choices(domains, weights=list(_DOMAIN_WEIGHTS.values()))[0]
        site = rng.choices(SITES, weights=(45, 15, 15, 10, 15))[0]
        locale = SITE_LOCALE[site] if rng.random() < 0.7 else "intl"
        display = random_name(rng, locale)
        if display in seen_display:  # namesakes happen; keep display names apart with an initial
            display = f"{display.split(' ')[0]} {chr(65 + rng.randrange(26))}. {display.split(' ', 1)[1]}"
        seen_display.add(display)
        name = user_name(display, taken)
        taken.add(name)
        second = rng.choice(domains) if rng.random() < 0.06 else None
        out.append(
            PersonSpec(
                name=name,
                display_name=display,
                domains=(domain,) + ((second,) if second and second != domain else ()),
                habit=rng.choices(HABITS, weights=list(_HABIT_WEIGHTS.values()))[0],
                interface=rng.choices(INTERFACES, weights=list(_INTERFACE_WEIGHTS.values()))[0],
                title=rng.choice(_TITLES[domain]),
                site=site,
            )
        )
    return out

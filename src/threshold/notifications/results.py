"""What notifications answer with: typed results, each with its JSON form (`to_json`), the keys in the order the
REST API and the CLI send them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Delivery:
    """One message to a domain's webhook: its event, status, attempts, last error, when it was recorded and
    when it was delivered."""

    id: int
    event: str
    status: str
    attempts: int
    error: str | None
    at: str | None
    delivered_at: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class WebhookSet:
    """A domain's webhook set: where its events go and the secret that signs them."""

    domain: str
    url: str
    secret: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class InboxMessage:
    """One message in a person's inbox as they may see it today: its kind (`quality.rejected`,
    `schema.changed`, ...), title, body and link, its data (JSON), when it was sent and whether it was read."""

    id: int
    kind: str
    title: str
    body: str
    link: str | None
    data: dict[str, Any]
    at: str | None
    read: bool

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

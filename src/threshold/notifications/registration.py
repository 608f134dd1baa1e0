"""What notifications declares: the `webhook` channel of the outbox."""

from __future__ import annotations

from threshold.jobs.outbox import Channel, declare_channel
from threshold.notifications import service


def register() -> None:
    declare_channel(Channel(service.WEBHOOK, service.send_webhook))

"""Threshold: share data into one governed lake, explore it through one gateway, promote what is used."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from threshold.errors import ThresholdError

if TYPE_CHECKING:
    from threshold.client import Client

__all__ = ["connect", "Client", "ThresholdError"]
__version__ = "0.1.0"


def connect(home: Any = None, *, url: str | None = None, token: str | None = None, user: str | None = None) -> Client:
    """A client on an embedded home (default `THRESHOLD_HOME` or ./.threshold) or a server at `url`."""
    from threshold.client import connect as _connect

    return _connect(home, url=url, token=token, user=user)


def __getattr__(name: str) -> Any:  # `threshold.Client` without importing pyarrow at `import threshold`
    if name == "Client":
        from threshold.client import Client

        return Client
    raise AttributeError(name)

"""httpx's one-request functions for the tests' local servers, on the process's one TLS context.

`httpx.get(url)` and its siblings build a client per call, and with it a TLS context that reads the whole CA
bundle (~20 ms of CPU) even for an `http://` address: these pass `threshold.tls.client_context()` instead. Each
call still opens a connection of its own, as the tests that reach every worker of a server rely on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from threshold.tls import client_context


def get(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.get(url, verify=client_context(), **kwargs)


def post(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.post(url, verify=client_context(), **kwargs)


def put(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.put(url, verify=client_context(), **kwargs)


def delete(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.delete(url, verify=client_context(), **kwargs)


@contextmanager
def stream(method: str, url: str, **kwargs: Any) -> Iterator[httpx.Response]:
    with httpx.stream(method, url, verify=client_context(), **kwargs) as r:
        yield r


def client(**kwargs: Any) -> httpx.Client:
    return httpx.Client(verify=client_context(), **kwargs)

"""The TLS context of Threshold's outgoing HTTPS: the Python client, `threshold login` and webhook deliveries.

httpx builds a new context for every client it makes, and building one reads the whole CA bundle: ~20 ms of CPU,
more than a small request costs. The context is the same every time, so it is built once per process and kept
(an `ssl.SSLContext` serves any number of connections and threads). It verifies exactly as httpx's default does:
the CA file named by `SSL_CERT_FILE`, else the folder named by `SSL_CERT_DIR`, else certifi's bundle; a change to
those variables gives a context of its own.
"""

from __future__ import annotations

import functools
import os
import ssl


def client_context() -> ssl.SSLContext:
    """The verifying context for outgoing HTTPS (pass it as httpx's `verify`)."""
    return _context(os.environ.get("SSL_CERT_FILE") or None, os.environ.get("SSL_CERT_DIR") or None)


@functools.lru_cache(maxsize=4)
def _context(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    if cafile:
        return ssl.create_default_context(cafile=cafile)
    if capath:
        return ssl.create_default_context(capath=capath)
    import certifi

    return ssl.create_default_context(cafile=certifi.where())

"""CLI commands of the products capability (registered onto `threshold.cli.app` when imported)."""

from __future__ import annotations

"""CLI commands of the quality capability (registered onto `threshold.cli.app` when imported)."""

from __future__ import annotations

"""CLI commands of the lineage capability (registered onto `threshold.cli.app` when imported)."""

from __future__ import annotations

"""CLI command groups beyond the core ones in `threshold.cli`; each module registers onto `cli.app`."""

"""The CLI's command groups: each module holds an `app` with its commands; `threshold.cli` registers them
from its explicit list (GROUPS). Shared options, consoles and output live in `support.py`."""

"""The CLI's command groups: each module holds an `app` with its commands; `threshold.cli` loads them from
the explicit list (GROUPS in `index.py`), each only when one of its commands runs. Shared options, consoles
and output live in `support.py`."""

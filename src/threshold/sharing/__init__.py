"""Sharing: a file or a frame into the lake in one step (docs/sharing.md).

- `service`        — `share()`: read, convert, commit one snapshot, publish in one transaction (the entry point);
                     announces `share_starting`, `dataset_publishing`, `dataset_published`, `schema_changed`
- `readers/`       — one module per file format, one registration line each
- `detectors/`, `detection` — sensitive-data detectors and the detection that runs them
- `profile`, `types` — the profile of a shared table; lake types
"""

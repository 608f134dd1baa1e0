"""Sharing: a file or a frame into the lake in one step (docs/sharing.md).

- `service`        — `share()`: read, convert, commit one snapshot, publish in one transaction (the entry point);
                     announces `share_starting`, `dataset_publishing`, `dataset_published`, `schema_changed`
- `sources`        — what a share reads: a file through its reader, or a frame, with the person's options
- `readers/`       — one module per file format, one registration line each; `readers/layout` finds the table
                     on a sheet or in a CSV export (title rows, header rows, merged cells, totals)
- `preview`        — what a share would store, before anything is published; `publish` of a previewed upload
- `staged`         — uploads kept between preview and publish (private, bounded, expiring folders)
- `choices`        — what a person corrects: column names and types (checked casts), a new dataset's visibility
- `detectors/`, `detection` — sensitive-data detectors and the detection that runs them
- `profile`, `types` — the profile of a shared table; lake types
"""

"""The glossary: the organisation's shared vocabulary (docs/glossary.md).

- `models`   — terms, their revisions (draft → in review → approved | rejected; an approval supersedes the
               last approved revision) and their links to datasets, columns and insights
- `service`  — propose, submit, review (with the diff), link, list, show: the entry point
- `transfer` — bulk export and import as CSV (all rows or none)
- `synonyms` — approved terms and their synonyms as the catalog search's extra thesaurus
"""

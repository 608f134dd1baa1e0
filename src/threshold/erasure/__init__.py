"""The right to erasure, proven, and the subject access report (issue 17).

`locate` finds a data subject (`TAG=VALUE`) in every dataset whose columns carry the tag and in the datasets
derived from them; `service` plans, deletes, expires and certifies; `verify` decodes what remains;
`subject_access` reports what is held about a subject; `legal_basis` is where the collection register
plugs in the legal basis of each dataset.
"""

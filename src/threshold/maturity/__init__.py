"""Maturity: each domain scored on the maturity model from what the platform records, against a target
picture the organisation can change (with history). See docs/maturity.md."""

"""Where authorisation plugs into the gateway: one explainable decision per dataset a query reads.

The decision comes from governance (visibility, grants, purposes, guardrails, domain policies);
it carries the reader's view of the dataset (masks and row filters), and the gateway binds
every reference of the dataset in the query to that view.
"""

from __future__ import annotations

from threshold.governance.decide import Decision, decide

__all__ = ["Decision", "decide"]

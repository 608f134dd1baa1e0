"""Federated governance: guardrails set once by the governance group, domain policies for the rest,
purpose-bound grants from access requests, and an explainable decision for every read."""

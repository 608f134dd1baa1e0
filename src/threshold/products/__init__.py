"""Consumption patterns, promotion candidates and data products (docs/products.md).

- `consumption`, `patterns`, `producers` — what is used, by whom, together with what; the producer view
- `candidates`     — datasets whose use justifies a product, scored from usage signals
- `lifecycle`      — promote, deprecate, retire; the product view (the entry point)
- `owners`         — owner suggestions, working backward from lineage, shares and usage
- `contracts`      — data contracts (ODCS v3): build, export, import, recheck
- `contract_document` — a contract as a document: parse, dump, compare versions
- `contract_checks` — checking a contract against the real table
- `rollup`, `signals`, `lookup`, `dependents` — usage roll-ups and the lookups they share
- `visibility`     — who may see which product
- `models`         — products, contracts, owner decisions, usage roll-ups

Settings: `THRESHOLD_PRODUCTS__*` (`settings.ProductSettings`, with `OwnerEvidencePoints`).
"""

"""Consumption patterns, promotion candidates and data products (docs/products.md).

- `consumption`, `patterns`, `producers` — what is used, by whom, together with what; the producer view
- `candidates`     — datasets whose use justifies a product, scored from usage signals
- `lifecycle`      — promote, deprecate, retire; the product view (the entry point)
- `owners`         — owner suggestions, working backward from lineage, shares and usage
- `contracts`      — data contracts (ODCS v3): build, export, import, recheck; their rules are quality's
  checks (`quality.contract_runs`), and the contract view reads those checks' runs
- `contract_document` — a contract as a document: parse, dump, compare versions
- `rollup`, `signals`, `lookup`, `dependents` — usage roll-ups and the lookups they share
- `visibility`     — who may see which product
- `models`         — products, contracts, owner decisions, usage roll-ups

Settings: `THRESHOLD_PRODUCTS__*` (`settings.ProductSettings`, with `OwnerEvidencePoints`).
"""

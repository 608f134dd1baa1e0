"""A believable demo organisation: six domains, about forty people, thirty datasets, weeks of real usage.

`build_demo(platform, scale=...)` fills a home; `threshold demo` and the benchmarks call it.
The company is `company.py`, its data `catalog.py` (generated in `tables/`, public in `public.py`),
what people ask `questions.py`, and how often and when `usage.py`.
"""

from threshold.demo.generator import build_demo

__all__ = ["build_demo"]

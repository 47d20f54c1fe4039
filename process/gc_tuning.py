"""The cyclic garbage collector, set for a process that serves requests.

A page of 50 requests (benchmarks/tab_query.py) allocates a few thousand short-lived containers:
the documents' dicts, domain and GraphQL objects, the response's dicts. Reference counting frees
nearly all of them when the request ends, but with Python's default first threshold (700 net
allocations) the collector still traversed them ~1.8 times a page, and every ~200 pages made a
full pass over the ~100,000 objects start-up left behind (schema, modules): ~0.6 ms a page on
average, against 0.04 ms for a plain-JSON endpoint reading the same documents.

`gc.freeze()` moves what start-up made into a permanent generation the collector no longer
scans, and a first threshold of 20,000 lets a request's garbage go by reference counting before
the collector looks. Reference cycles are still collected, a little later.
"""

from __future__ import annotations

import gc

GEN0_THRESHOLD = 20_000


def tune_for_serving() -> None:
    """Call once the app is built (its schema, services and caches exist)."""
    gc.collect()  # start-up's garbage is freed, not frozen
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)

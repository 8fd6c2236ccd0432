"""Keep the garbage collector's full collections short in long-running services.

A service's start-up leaves a few hundred thousand long-lived objects (modules, FastAPI routes,
pydantic validators, the taxonomy). CPython's oldest-generation collection walks all of them each
time, stalling every request in flight: most of intake's p99 at moderate load
(docs/benchmarks.md). :func:`settle` collects once and freezes what start-up built
(``gc.freeze``: those objects are never scanned again), and makes the young generation larger so
that a request's short-lived objects rarely reach the older ones at all.

A young collection is due when the objects the collector tracks have grown by YOUNG_THRESHOLD since
the last one (allocations less deallocations), and it scans every young object still alive. Work in
flight is what stays alive: fifty intake batches of 500 events, or a stream worker's buffers of
thousands of records. A young generation of 20,000 still had intake collecting for a large share
of its time under batch load; 100,000, with middle collections every 50 young ones, made that
share small (docs/benchmarks.md). Garbage that only the collector can free (reference cycles)
waits longer, bounded by the same threshold.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)

#: Growth in tracked objects before a young collection (CPython's default is 700).
YOUNG_THRESHOLD = 100_000
#: Young collections before a middle one (CPython's default is 10).
MIDDLE_THRESHOLD = 50


def settle() -> None:
    """Call once, after start-up and before serving."""
    gc.collect()
    gc.freeze()
    _, _, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, oldest)
    log.info("heap settled", extra={"frozen_objects": gc.get_freeze_count()})

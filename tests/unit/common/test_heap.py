"""heap.settle freezes what start-up built and widens the young and middle generations."""

from __future__ import annotations

import gc

from services.common import heap


def test_settle_freezes_start_up_objects_and_raises_the_young_and_middle_thresholds():
    before = gc.get_threshold()
    try:
        heap.settle()
        assert gc.get_freeze_count() > 1000  # this test process's modules, at the least
        assert gc.get_threshold()[:2] == (heap.YOUNG_THRESHOLD, heap.MIDDLE_THRESHOLD)
        assert gc.get_threshold()[2] == before[2]
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)

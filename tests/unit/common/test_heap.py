"""heap.settle freezes what start-up built and widens the young generation."""
from __future__ import annotations

import gc

from services.common import heap


def test_settle_freezes_start_up_objects_and_raises_the_young_threshold():
    before = gc.get_threshold()
    try:
        heap.settle()
        assert gc.get_freeze_count() > 1000          # this test process's modules, at the least
        assert gc.get_threshold()[0] == heap.YOUNG_THRESHOLD
        assert gc.get_threshold()[1:] == before[1:]
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)

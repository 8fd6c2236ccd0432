"""fields.leaves: an event's values with their paths, from the model or from its dump alike."""
from __future__ import annotations

from contracts.events import CommunityEngagementFinding, ProviderPerformanceEvent
from services.intake.domain.fields import leaves
from services.intake.examples import FINDING, PERFORMANCE


def test_a_model_gives_the_same_fields_as_its_dump_in_the_same_order():
    for model, example in ((CommunityEngagementFinding, FINDING), (ProviderPerformanceEvent, PERFORMANCE)):
        event = model.model_validate(example)
        assert leaves(event) == leaves(event.model_dump())
        paths = [path for path, _ in leaves(event)]
        assert "data.summary" in paths or "data.indicator" in paths
        assert not any(path == "data" for path in paths)          # nested models are walked into


def test_lists_and_nested_dicts_are_walked_with_their_paths():
    assert leaves({"a": [1, {"b": "x"}], "c": None}) == [("a[0]", 1), ("a[1].b", "x"), ("c", None)]

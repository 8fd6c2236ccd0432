"""How intake's batch routes read their events (services.intake.routes.read_each): each event of
the batch on its own, so one invalid event is answered on its own and the rest are read."""

from __future__ import annotations

import copy

from pydantic import ValidationError

from contracts.events import CommunityEngagementFinding, ProviderPerformanceEvent
from contracts.examples import FINDING, PERFORMANCE
from services.intake.routes import FINDING as FINDING_ADAPTER
from services.intake.routes import PERFORMANCE as PERFORMANCE_ADAPTER
from services.intake.routes import read_each


def _finding(**data) -> dict:
    body = copy.deepcopy(FINDING)
    body["data"].update(data)
    return body


def test_a_batch_read_event_by_event_gives_events_of_the_endpoints_type():
    parsed = read_each(FINDING_ADAPTER, [_finding(), _finding(people_affected=3)])
    assert [type(e) for e in parsed] == [CommunityEngagementFinding] * 2
    assert parsed[1].data.people_affected == 3


def test_one_invalid_event_is_answered_on_its_own_and_the_others_are_read():
    first, second, third = read_each(FINDING_ADAPTER, [_finding(), _finding(people_affected=-1), {"x": 1}])
    assert isinstance(first, CommunityEngagementFinding)
    assert isinstance(second, ValidationError) and isinstance(third, ValidationError)
    assert {e["loc"] for e in second.errors()} == {("data", "people_affected")}


def test_a_batch_posted_to_the_other_type_refuses_each_event():
    assert isinstance(read_each(PERFORMANCE_ADAPTER, [_finding()])[0], ValidationError)
    assert isinstance(read_each(PERFORMANCE_ADAPTER, [PERFORMANCE])[0], ProviderPerformanceEvent)


def test_strict_types_hold_in_a_batch_as_in_a_single_post():
    """ "12" is not 12, and a date is text, in a batch as on the single-event route."""
    refused = read_each(FINDING_ADAPTER, [_finding(people_affected="12")])[0]
    assert isinstance(refused, ValidationError)
    assert {e["loc"] for e in refused.errors()} == {("data", "people_affected")}

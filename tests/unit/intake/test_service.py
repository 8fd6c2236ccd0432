"""IntakeService.admit, the use case, with in-memory adapters (tests/unit/intake/fakes.py): the
order of the checks, idempotency and what is answered when the log refuses. The same paths run
against real PostgreSQL and Kafka in tests/integration/test_intake.py and tests/faults/."""

from __future__ import annotations

import copy
import uuid
from datetime import timedelta

from contracts.events import CommunityEngagementFinding, ProviderPerformanceEvent
from contracts.places import AREAS
from services.common.auth import Principal, Role
from contracts.examples import FINDING, PERFORMANCE
from services.intake.service import IntakeService

from .fakes import FakeLedger, FakePublisher, FakeRegistry

PARTNER = Principal("k1", "pattigift", Role.PARTNER)
OPERATOR = Principal("k0", "operators", Role.OPERATOR)


def service() -> tuple[IntakeService, FakeLedger, FakePublisher, FakeRegistry]:
    ledger, publisher, registry = FakeLedger(), FakePublisher(), FakeRegistry()
    registry.register("pattigift", {"BSOL"})
    registry.register("somerset-vcse-alliance", {"SOM"})
    return IntakeService(ledger, publisher, registry, timedelta(minutes=5)), ledger, publisher, registry


def finding(**changes) -> CommunityEngagementFinding:
    body = copy.deepcopy(FINDING)
    body["event_id"] = str(uuid.uuid4())
    data = changes.pop("data", {})
    body.update(changes)
    body["region"] = AREAS[body["area"]].region.value
    body["data"].update(data)
    return CommunityEngagementFinding.model_validate(body)


async def test_a_new_event_is_published_once_and_answered_with_where_it_is():
    intake, ledger, publisher, _ = service()
    event = finding()
    [outcome] = await intake.admit(PARTNER, [event])
    assert (outcome.status, outcome.http_status) == ("accepted", 202)
    assert publisher.ids() == [str(event.event_id)]
    await intake.close()
    assert ledger.rows[str(event.event_id)].published


async def test_a_replay_is_a_duplicate_with_the_same_place_and_nothing_is_published_again():
    intake, _, publisher, _ = service()
    event = finding()
    [first] = await intake.admit(PARTNER, [event])
    await intake.close()
    [again] = await intake.admit(PARTNER, [event])
    assert (again.status, again.http_status) == ("duplicate", 200)
    assert (again.topic, again.partition, again.offset) == (first.topic, first.partition, first.offset)
    assert publisher.ids() == [str(event.event_id)]


async def test_the_same_id_with_another_body_is_a_conflict():
    intake, _, publisher, _ = service()
    event = finding()
    await intake.admit(PARTNER, [event])
    await intake.close()
    changed = event.model_copy(update={"data": event.data.model_copy(update={"people_affected": 7})})
    [outcome] = await intake.admit(PARTNER, [changed])
    assert (outcome.status, outcome.http_status) == ("conflict", 409)
    assert [e["field"] for e in outcome.errors] == ["event_id"]
    assert len(publisher.ids()) == 1


async def test_copies_in_one_batch_count_once():
    intake, _, publisher, _ = service()
    event = finding()
    outcomes = await intake.admit(PARTNER, [event, event])
    assert [o.status for o in outcomes] == ["accepted", "duplicate"]
    assert publisher.ids() == [str(event.event_id)]


async def test_no_2xx_when_the_log_refuses_and_a_retry_publishes_under_the_same_id():
    intake, ledger, publisher, _ = service()
    event = finding()
    publisher.failing = True
    [refused] = await intake.admit(PARTNER, [event])
    assert (refused.status, refused.http_status) == ("unavailable", 503)
    assert not ledger.rows[str(event.event_id)].published and publisher.ids() == []
    publisher.failing = False
    ledger.age(60)  # the first attempt has long given up
    [retried] = await intake.admit(PARTNER, [event])
    assert (retried.status, retried.http_status) == ("accepted", 202)
    assert publisher.ids() == [str(event.event_id)]


async def test_a_partner_posts_only_as_itself_and_only_for_what_it_is_registered():
    intake, ledger, publisher, registry = service()
    [other_org] = await intake.admit(PARTNER, [finding(source="somerset-vcse-alliance", area="SOM")])
    assert other_org.http_status == 403 and [e["field"] for e in other_org.errors] == ["source"]
    [other_area] = await intake.admit(PARTNER, [finding(area="KENT")])
    assert other_area.http_status == 403 and [e["field"] for e in other_area.errors] == ["area"]
    registry.registrations.clear()
    [unregistered] = await intake.admit(PARTNER, [finding()])
    assert unregistered.http_status == 403
    assert ledger.rows == {} and publisher.ids() == []  # nothing reserved, nothing published


async def test_an_operator_may_post_for_any_organisation_without_a_registration():
    intake, _, publisher, registry = service()
    registry.registrations.clear()
    [outcome] = await intake.admit(OPERATOR, [finding(source="somerset-vcse-alliance", area="SOM")])
    assert outcome.http_status == 202 and len(publisher.ids()) == 1


async def test_personal_data_is_refused_before_the_ledger_naming_the_field():
    intake, ledger, publisher, _ = service()
    [outcome] = await intake.admit(PARTNER, [finding(data={"summary": "call 07700 900123 about it"})])
    assert outcome.http_status == 422 and [e["field"] for e in outcome.errors] == ["data.summary"]
    assert "07700" not in str(outcome.errors)
    assert ledger.rows == {} and publisher.ids() == []


async def test_a_performance_event_names_a_provider_the_organisation_reports_for():
    intake, _, publisher, _ = service()
    alliance = Principal("k2", "somerset-vcse-alliance", Role.PARTNER)
    body = copy.deepcopy(PERFORMANCE)
    body["event_id"] = str(uuid.uuid4())
    body["data"]["provider_id"] = "somebody-else"
    [outcome] = await intake.admit(alliance, [ProviderPerformanceEvent.model_validate(body)])
    assert outcome.http_status == 403 and [e["field"] for e in outcome.errors] == ["data.provider_id"]
    assert publisher.ids() == []

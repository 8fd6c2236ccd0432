from __future__ import annotations

from datetime import datetime, timedelta, timezone

from services.common.admission.admission import Idempotency, idempotency, too_far_in_future

NOW = datetime(2026, 11, 22, 12, tzinfo=timezone.utc)


def test_clock_skew_allowance_is_inclusive():
    skew = timedelta(minutes=5)
    assert not too_far_in_future(NOW + skew, NOW, skew)
    assert too_far_in_future(NOW + skew + timedelta(seconds=1), NOW, skew)
    assert not too_far_in_future(NOW - timedelta(days=400), NOW, skew)


def test_idempotency_outcomes():
    assert idempotency(None, False, b"a") is Idempotency.NEW
    assert idempotency(b"a", True, b"a") is Idempotency.DUPLICATE
    assert idempotency(b"a", False, b"a") is Idempotency.RETRY
    assert idempotency(b"a", True, b"b") is Idempotency.CONFLICT
    assert idempotency(b"a", False, b"b") is Idempotency.CONFLICT


def test_a_copy_of_an_event_being_published_waits_for_its_outcome():
    # Same body, reserved moments ago and not yet published: another request is publishing it.
    assert idempotency(b"a", False, b"a", in_flight=True) is Idempotency.IN_FLIGHT
    # Once published, or once too old to be in flight, the usual answers.
    assert idempotency(b"a", True, b"a", in_flight=True) is Idempotency.DUPLICATE
    assert idempotency(b"a", False, b"a", in_flight=False) is Idempotency.RETRY
    # A different body is a conflict at once, in flight or not.
    assert idempotency(b"a", False, b"b", in_flight=True) is Idempotency.CONFLICT


def test_future_dates_name_each_field():
    from datetime import date, datetime, timedelta, timezone

    from contracts.events import ProviderPerformanceEvent
    from services.common.admission.admission import future_dates
    from contracts.examples import PERFORMANCE

    now = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)
    skew = timedelta(seconds=300)

    def event(**changes):
        body = {**PERFORMANCE, "occurred_at": changes.pop("occurred_at", "2026-12-03T11:00:00Z")}
        body["data"] = {**PERFORMANCE["data"], **changes}
        return ProviderPerformanceEvent.model_validate(body)

    assert future_dates(event(), now, skew) == []
    # Tomorrow has begun in Kiribati at 10:00 UTC today; the day after has not.
    assert future_dates(event(period_end=date(2026, 12, 4)), now, skew) == []
    assert [
        f for f, _ in future_dates(event(period_start=date(2026, 12, 5), period_end=date(2026, 12, 5)), now, skew)
    ] == ["data.period_start", "data.period_end"]
    assert [f for f, _ in future_dates(event(occurred_at="2026-12-03T12:06:00Z"), now, skew)] == ["occurred_at"]

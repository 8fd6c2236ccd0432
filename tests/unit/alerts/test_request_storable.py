"""The alert API refuses text and moments PostgreSQL cannot keep with the reasons intake gives:
one check of each, in services.common.admission.storable."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from services.alerts.routes import Note, SilenceIn
from services.common.admission.storable import unstorable

NUL_TEXT = "before\x00after"
#: 9999-12-31 23:00 two hours west of UTC is 10000-01-01 in UTC.
PAST_9999 = datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-2)))


def _reason(exc: pytest.ExceptionInfo[ValidationError]) -> str:
    [error] = exc.value.errors()
    return error["msg"].removeprefix("Value error, ")


def test_a_note_with_nul_is_refused_for_intakes_reason() -> None:
    [expected] = unstorable({"note": NUL_TEXT})
    with pytest.raises(ValidationError) as exc:
        Note(note=NUL_TEXT)
    assert _reason(exc) == expected.reason
    assert Note(note="fine").note == "fine"


def test_a_silence_ending_past_9999_is_refused_for_intakes_reason() -> None:
    [expected] = unstorable({"ends_at": PAST_9999})
    with pytest.raises(ValidationError) as exc:
        SilenceIn(reason="maintenance", ends_at=PAST_9999, area="BSOL")
    assert _reason(exc) == expected.reason
    with pytest.raises(ValidationError) as exc:
        SilenceIn(reason=NUL_TEXT, ends_at=datetime(2030, 1, 1, tzinfo=timezone.utc), area="BSOL")
    assert _reason(exc) == unstorable({"reason": NUL_TEXT})[0].reason

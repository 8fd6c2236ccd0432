"""Each section's amber and red settings are checked by one rule: red is the stricter of each pair,
so amber fires first; swapping a pair's defaults is refused naming both settings."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from services.alerts.domain import thresholds

SECTIONS = [
    cls for cls in vars(thresholds).values() if isinstance(cls, type) and issubclass(cls, thresholds._Thresholds)
]
PAIRS = [(cls, amber, red) for cls in SECTIONS for amber, red in (*cls.red_at_or_above, *cls.red_at_or_below)]


#: Red settings with no amber setting to order against: a multiple of the amber threshold, days
#: past a due date (amber is the due date itself), a share of CQUIN indicators (amber is any one).
UNPAIRED = {"red_factor", "red_overdue_days", "red_cquin_share"}


def test_every_red_setting_is_ordered_against_its_amber() -> None:
    for cls in SECTIONS:
        reds = {n for n in cls.model_fields if n.startswith("red_")} - UNPAIRED
        assert reds == {red for _, red in (*cls.red_at_or_above, *cls.red_at_or_below)}, cls.__name__


@pytest.mark.parametrize(("cls", "amber", "red"), PAIRS, ids=[f"{c.__name__}.{r}" for c, _, r in PAIRS])
def test_red_on_the_wrong_side_of_amber_is_refused(cls: type[BaseModel], amber: str, red: str) -> None:
    defaults = cls()
    assert getattr(defaults, red) != getattr(defaults, amber)
    with pytest.raises(ValidationError) as exc:
        cls(**{amber: getattr(defaults, red), red: getattr(defaults, amber)})
    message = str(exc.value)
    assert f"{red} (" in message and f"{amber} (" in message

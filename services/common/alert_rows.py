"""An alert's fields as table columns, for the stores that keep alerts (alerts and reporting).

The columns are the contract's :class:`contracts.events.Alert` fields by name, so a field added to
the contract is carried by every store (its table needs the column, added by a migration).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import Enum
from typing import Any

from pydantic import BaseModel

from contracts.events import Alert

#: The contract's fields, in its order: the columns every table of alerts has.
ALERT_COLUMNS: tuple[str, ...] = tuple(Alert.model_fields)
#: Columns stored as jsonb.
JSON_COLUMNS = frozenset({"evidence", "record"})


def column_value(value: Any) -> Any:
    """A field's value as asyncpg binds it: an enum by its value, a tuple as a list, a dict as JSON."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return [column_value(v) for v in value]
    if isinstance(value, dict):
        return json.dumps(value, default=str)
    return value


def alert_values(model: BaseModel, columns: Sequence[str] = ALERT_COLUMNS) -> list[Any]:
    """The values of ``columns`` taken from the model's fields of the same names."""
    return [column_value(getattr(model, name)) for name in columns]


def placeholders(columns: Sequence[str]) -> str:
    """``$1, $2::jsonb, ...``: one bind parameter a column, cast where the column is jsonb."""
    return ", ".join(f"${i}::jsonb" if name in JSON_COLUMNS else f"${i}" for i, name in enumerate(columns, start=1))

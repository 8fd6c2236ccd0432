"""The contract's Alert is the one declaration of an alert's fields: the alerts service's
conditions and records, its table and queries, and reporting's read model all carry every field."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from uuid import uuid4

from contracts.events import Alert, AlertFacts, AlertRule, AlertSeverity, AlertStatus
from contracts.places import Region
from contracts.taxonomy import Competency, Stage
from services.alerts.adapters import queries
from services.alerts.adapters import store as alerts_store
from services.alerts.domain.conditions import Condition
from services.alerts.domain.lifecycle import AlertRecord
from services.common.alert_rows import alert_values, placeholders
from services.reporting.adapters import store as reporting_store

AT = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)


def _columns(sql: str, between: tuple[str, str]) -> list[str]:
    """The column names listed in ``sql`` between two markers (``x AS y`` counts as ``y``)."""
    start, end = between
    listed = sql[sql.index(start) + len(start) : sql.index(end)]
    return [re.split(r"\s+AS\s+", part.strip())[-1] for part in listed.split(",")]


def test_conditions_and_records_extend_the_contract() -> None:
    assert set(AlertFacts.model_fields) <= set(Alert.model_fields)
    assert set(AlertFacts.model_fields) <= set(Condition.model_fields)
    assert set(Alert.model_fields) <= set(AlertRecord.model_fields)
    for name, field in Alert.model_fields.items():
        assert AlertRecord.model_fields[name].annotation == field.annotation, name


def test_every_contract_field_has_a_column_in_each_store() -> None:
    fields = set(Alert.model_fields)
    assert fields <= set(_columns(alerts_store.UPSERT_ALERT, ("INSERT INTO alerts (", ") VALUES")))
    assert fields <= set(_columns(reporting_store._UPSERT_ALERT, ("INSERT INTO reporting_alerts (", ") VALUES")))
    assert fields <= set(_columns(queries._SHOW_COLUMNS + " FROM", ("", " FROM")))
    # Lists leave out what is heavy: the evidence everywhere, the event ids where they are counted.
    assert fields - {"evidence"} <= set(_columns(reporting_store._ALERT_LIST_COLUMNS + " FROM", ("", " FROM")))
    assert fields - {"evidence", "event_ids"} <= set(_columns(queries.LIST_SQL["area"], ("SELECT", "FROM")))


def test_a_record_binds_one_value_per_column_and_gives_back_the_alert() -> None:
    record = AlertRecord(
        fingerprint="0123456789abcdef",
        rule=AlertRule.UNMET_NEED,
        area="BSOL",
        region=Region.WEST_MIDLANDS,
        subject="black-caribbean",
        severity=AlertSeverity.RED,
        summary="s",
        stages=(Stage.ASSESSING_NEEDS,),
        competencies=(Competency.ENGAGE_WITH_PUBLIC_AND_PATIENTS,),
        evidence={"n": 3},
        event_ids=(uuid4(),),
        status=AlertStatus.FIRING,
        starts_at=AT,
        updated_at=AT,
        acknowledged_by="ops",
    )
    row = alerts_store._alert_row(record)
    assert len(row) == alerts_store.UPSERT_ALERT.count("$")
    values = dict(zip(alerts_store._ALERT_TABLE_COLUMNS, row, strict=True))
    assert values["rule"] == "unmet_need" and values["stages"] == [int(Stage.ASSESSING_NEEDS)]
    assert values["evidence"] == '{"n": 3}' and values["acknowledged_by"] == "ops"
    alert = record.to_alert()
    assert type(alert) is Alert and alert.model_dump() == record.model_dump(include=set(Alert.model_fields))
    assert len(alert_values(alert)) == reporting_store._UPSERT_ALERT.count("$")
    assert placeholders(("a", "evidence")) == "$1, $2::jsonb"

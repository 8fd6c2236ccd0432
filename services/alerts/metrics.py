"""Metrics of the alerts service. Labels are bounded: rules, states, areas (contracts), channels."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from contracts.events import AlertRule, AlertStatus
from contracts.places import AREAS

ALERTS = Gauge("csp_alerts", "Alerts currently in each lifecycle state, by rule.", ["rule", "state"])
ALERTS_BY_AREA = Gauge("csp_alerts_by_area", "Alerts currently in each lifecycle state, by area.", ["area", "state"])
NOTIFICATIONS = Counter(
    "csp_alert_notifications_total",
    "Notifications to commissioners' subscriptions, by channel and outcome "
    "(delivered, retried, failed after the last attempt).",
    ["channel", "outcome"],
)
DELIVERY_SECONDS = Histogram(
    "csp_alert_notification_delivery_seconds",
    "From the state change that caused a notification to its delivery.",
    ["channel"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800),
)
TURN_SECONDS = Histogram(
    "csp_alert_turn_seconds",
    "A batch of events (one transaction, a turn per area) or a timer's turn of "
    "one area in PostgreSQL (lock, evaluate, write), by trigger.",
    ["trigger"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)

TIMER_ERRORS = Counter("csp_alert_timer_errors_total", "Worker timer runs that failed.", ["timer"])
AREA_FAILURES = Counter(
    "csp_alert_area_failures_total",
    "Turns of one area that failed and were skipped so the other areas went on.",
    ["stage"],
)
AREA_FAILURES.labels("timer")
INVALID_THRESHOLDS = Counter(
    "csp_alert_invalid_thresholds_total", "Stored area thresholds that did not read back; the area used the defaults."
)


def set_alert_counts(by_rule: list, by_area: list) -> None:
    """Gauges from the alert store's counts; combinations with no alerts read 0."""
    rules = {(r["rule"], r["status"]): r["n"] for r in by_rule}
    areas = {(r["area"], r["status"]): r["n"] for r in by_area}
    for status in AlertStatus:
        for rule in AlertRule:
            ALERTS.labels(rule.value, status.value).set(rules.get((rule.value, status.value), 0))
        for area in AREAS:
            ALERTS_BY_AREA.labels(area, status.value).set(areas.get((area, status.value), 0))


def start_delivery_series() -> None:
    """Zero series for every channel and outcome the alerts API counts, so that rates and
    increases see the first delivery or failure. A live stream is delivered or not at all."""
    for channel in ("webhook", "email"):
        DELIVERY_SECONDS.labels(channel)
        for outcome in ("delivered", "retried", "failed"):
            NOTIFICATIONS.labels(channel, outcome)
    NOTIFICATIONS.labels("sse", "delivered")

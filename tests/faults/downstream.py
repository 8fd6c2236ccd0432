"""Reading the books downstream: PostgreSQL (reporting and alerts) and the consumer groups' lag.

Plain queries against the platform's own tables (services/*/migrations): the reporting ledger
``reporting_events`` and its rollups, the alerts worker's applied-event ledger
``alert_events_seen``, the per-area alert state (the unmet-need windows), the unmet-need alerts'
evidence, and the notification outbox with its delivery log.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import asyncpg
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from contracts.topics import ALERTS, FINDINGS, MAPPED, PERFORMANCE

ROLLUP_TABLES = ("rollup_area_daily", "rollup_detail_daily")
#: The platform's consumer groups (faust app ids) and the topics each reads.
GROUPS = {"csp-mapping": (FINDINGS, PERFORMANCE), "csp-alerts": (MAPPED,), "csp-reporting": (MAPPED, ALERTS)}


async def rollups(pg: asyncpg.Pool, areas: Iterable[str], days: Iterable[date]) -> dict[str, dict]:
    """Per rollup table: events per (area, ISO day) for these areas and days."""
    out = {}
    for table in ROLLUP_TABLES:
        rows = await pg.fetch(
            f"SELECT area, day, sum(events)::bigint AS n FROM {table} "  # table from the fixed tuple above
            "WHERE area = ANY($1::text[]) AND day = ANY($2::date[]) GROUP BY area, day",
            list(areas),
            list(days),
        )
        out[table] = {(r["area"], r["day"].isoformat()): r["n"] for r in rows}
    return out


async def present(pg: asyncpg.Pool, table: str, ids: Iterable[str]) -> set[str]:
    """The event ids found in ``reporting_events``, ``alert_events_seen`` or ``intake_events``."""
    assert table in ("reporting_events", "alert_events_seen", "intake_events")
    rows = await pg.fetch(f"SELECT event_id::text AS id FROM {table} WHERE event_id = ANY($1::uuid[])", list(ids))
    return {r["id"] for r in rows}


async def window_holdings(pg: asyncpg.Pool, areas: Iterable[str], ids: set[str]) -> Counter:
    """How many times each of ``ids`` is held in the areas' unmet-need windows (alert state)."""
    held: Counter = Counter()
    for row in await pg.fetch("SELECT state FROM alert_area_state WHERE area = ANY($1::text[])", list(areas)):
        for bucket in json.loads(row["state"]).get("findings", {}).values():
            held.update(e for e in bucket if e in ids)
    return held


async def unmet_alert_findings(
    pg: asyncpg.Pool, areas: Iterable[str], communities: Iterable[str]
) -> dict[tuple[str, str], int]:
    """Findings counted in the evidence of each unmet-need alert, by (area, community)."""
    rows = await pg.fetch(
        "SELECT area, subject, (evidence->>'findings')::int AS n FROM alerts "
        "WHERE rule = 'unmet_need' AND area = ANY($1::text[]) AND subject = ANY($2::text[])",
        list(areas),
        [f"community:{c}" for c in communities],
    )
    return {(r["area"], r["subject"].removeprefix("community:")): r["n"] for r in rows}


async def alert_read_model_gaps(pg: asyncpg.Pool, areas: Iterable[str]) -> dict:
    """Alerts whose latest state in the alert store differs from the reporting read model (fed by
    alerts.v1), and alerts.v1 outbox rows not yet published, for these areas."""
    rows = await pg.fetch(
        "SELECT a.fingerprint, a.status, a.updated_at, r.status AS reported_status, "
        "  r.updated_at AS reported_updated_at FROM alerts a "
        "LEFT JOIN reporting_alerts r USING (fingerprint) "
        "WHERE a.area = ANY($1::text[]) AND (r.fingerprint IS NULL OR r.status <> a.status "
        "  OR r.severity <> a.severity OR r.updated_at <> a.updated_at OR r.evidence <> a.evidence)",
        list(areas),
    )
    pending = await pg.fetchval(
        "SELECT count(*) FROM alert_publications WHERE published_at IS NULL AND area = ANY($1::text[])", list(areas)
    )
    return {"stale": [dict(r) for r in rows], "unpublished": pending}


def consumer_lag(bootstrap: str) -> dict[str, int]:
    """Records each consumer group has not committed yet, summed over its topics' partitions."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, request_timeout_ms=5000
    )
    try:
        committed = admin.list_group_offsets({g: None for g in GROUPS})
        lag = {}
        for group, topics in GROUPS.items():
            behind = 0
            for spec in topics:
                # One topic per call: this kafka-python version mixes up partitions across topics.
                ends = consumer.end_offsets([TopicPartition(spec.name, p) for p in range(spec.partitions)])
                for tp, end in ends.items():
                    done = committed.get(group, {}).get(tp)
                    behind += max(0, end - (done.offset if done is not None and done.offset >= 0 else 0))
            lag[group] = behind
        return lag
    finally:
        consumer.close()
        admin.close()


def log_ends(bootstrap: str, topics=(FINDINGS, PERFORMANCE, MAPPED)) -> dict[str, dict[int, int]]:
    """The end offset of every partition of ``topics`` now: where a scenario's records begin."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    try:
        return {
            t.name: {
                tp.partition: end
                for tp, end in consumer.end_offsets([TopicPartition(t.name, p) for p in range(t.partitions)]).items()
            }
            for t in topics
        }
    finally:
        consumer.close()


def _event_id(topic: str, record) -> str | None:
    if topic == MAPPED.name:
        return json.loads(record.value)["event"]["event_id"]
    return next((v.decode() for k, v in record.headers or [] if k == "ce_id"), None)


def log_copies(bootstrap: str, since: dict[str, dict[int, int]], ids: set[str]) -> dict[str, int]:
    """Per topic: records of ``ids`` written after ``since`` beyond one per event (producer
    retries, a 503 whose record landed anyway, a worker re-mapping after a restart)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, max_partition_fetch_bytes=4 << 20
    )
    out = {}
    try:
        for topic, starts in since.items():
            parts = [TopicPartition(topic, p) for p in starts]
            ends = consumer.end_offsets(parts)
            consumer.assign(parts)
            for tp in parts:
                consumer.seek(tp, starts[tp.partition])
            seen: Counter = Counter()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and any(consumer.position(tp) < ends[tp] for tp in parts):
                for tp, batch in consumer.poll(timeout_ms=500, max_records=5000).items():
                    seen.update(e for r in batch if r.offset < ends[tp] and (e := _event_id(topic, r)) in ids)
            out[topic] = sum(n - 1 for n in seen.values() if n > 1)
        return out
    finally:
        consumer.close()


async def count_present(pg: asyncpg.Pool, table: str, ids: list[str]) -> int:
    assert table in ("reporting_events", "alert_events_seen")
    return await pg.fetchval(f"SELECT count(*) FROM {table} WHERE event_id = ANY($1::uuid[])", ids)


async def settle(pg: asyncpg.Pool, acked: set[str], bootstrap: str, *, timeout: float, stall: float) -> dict:
    """Wait until reporting and alerts hold every acknowledged event and no group lags.

    Gives up after ``timeout`` seconds, or after ``stall`` seconds without progress (a hang shows
    as missing events in the ledger, not as a test that never ends). Prints progress.
    """
    ids = list(acked)
    start = last_change = time.monotonic()
    last, quiet, printed, lag = None, 0, 0.0, {}
    while True:
        reporting = await count_present(pg, "reporting_events", ids)
        alerts = await count_present(pg, "alert_events_seen", ids)
        complete = reporting == len(ids) and alerts == len(ids)
        if complete:  # the groups' lag matters once everything is in: redelivered copies may follow
            try:
                lag = await asyncio.to_thread(consumer_lag, bootstrap)
            except Exception as exc:  # noqa: BLE001 - a broker still starting is 'not settled yet'
                lag = {"error": repr(exc)}
        now = time.monotonic()
        state = (reporting, alerts, tuple(sorted(lag.items())))
        if state != last:
            last, last_change = state, now
        quiet = quiet + 1 if complete and all(v == 0 for v in lag.values()) else 0
        if now - printed >= 15 or quiet >= 2:
            printed = now
            print(
                f"  settling {now - start:5.0f}s: reporting {reporting}/{len(ids)}, "
                f"alerts {alerts}/{len(ids)}" + (f", lag {lag}" if complete else ""),
                flush=True,
            )
        if quiet >= 2:
            return {"settled": True, "seconds": round(now - start, 1), "lag": lag}
        if now - start > timeout or now - last_change > stall:
            return {
                "settled": False,
                "seconds": round(now - start, 1),
                "lag": lag,
                "reporting": reporting,
                "alerts": alerts,
            }
        await asyncio.sleep(1 if complete else 3)


async def notifications(pg: asyncpg.Pool, subscription_id: str) -> list[dict]:
    """The subscription's notifications with their delivery attempts."""
    rows = await pg.fetch(
        "SELECT n.id::text AS id, n.state, n.attempts, n.reason, "
        "  coalesce(array_agg(d.outcome ORDER BY d.attempt) FILTER (WHERE d.id IS NOT NULL), '{}') AS outcomes "
        "FROM alert_notifications n LEFT JOIN alert_deliveries d ON d.notification_id = n.id "
        "WHERE n.subscription_id = $1::uuid GROUP BY n.id",
        subscription_id,
    )
    return [dict(r) for r in rows]


def service_cpu(home: Path) -> dict[str, tuple[int, float]]:
    """(pid, CPU seconds used so far) of each platform process with a pid file under ``home``."""
    out = {}
    for pidfile in [*sorted((home / "run").glob("*.pid")), home / "kafka" / "kafka.pid"]:
        try:
            pid = int(pidfile.read_text().strip())
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, ValueError):
            continue
        out[pidfile.stem] = (pid, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
    return out


def cpu_used(before: dict[str, tuple[int, float]], after: dict[str, tuple[int, float]]) -> dict[str, float]:
    """CPU seconds each process used in between (a restarted process counts from its start)."""
    return {
        name: round(cpu - (before[name][1] if name in before and before[name][0] == pid else 0.0), 1)
        for name, (pid, cpu) in after.items()
    }

"""End to end: from the HTTP post of the finding that crosses a threshold to the webhook arriving.

    python -m tests.benchmarks.bench_e2e [--seconds 60] [--rate 500] [--triggers 200]

The whole platform runs as deploy/local/services.sh starts it (intake, mapping, alerts, alerts-api,
reporting-worker, reporting) with the alerts service's default notification settings. An operator
subscribes a real HTTP receiver in this process (tests/integration/alerts_support.py's
WebhookReceiver) to every area. Then, for ``--seconds``:

* background load: findings at ``--rate`` events/s, posted in batches of ``--batch`` on a fixed
  schedule (open loop: a slow answer does not slow the schedule down). Their themes are never
  unmet need or a service gap, so they cross no threshold, but each one is mapped, evaluated by
  the alerts worker and stored by the reporting worker like any other;
* ``--triggers`` single posts, spread evenly over the window, each a critical finding of unmet
  need about 1,000 people (weight 4 x 4 = 16, over the amber score of 15) for an area and
  community pair not used before, so each opens exactly one new alert.

Latency = the receiver's clock when the webhook naming that alert's fingerprint arrived minus the
clock just before the post was sent (one machine, one clock). Target (issue 5): p99 under 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import aiohttp

from contracts.events import AlertRule
from contracts.places import AREAS
from contracts.topics import ALERTS, FINDINGS, MAPPED
from contracts.vocabulary import UNMET_NEED_THEMES, Community, Severity, Theme
from services.alerts.domain.conditions import fingerprint
from tests.benchmarks.common import Stack, latency_summary, log, report
from tests.integration.alerts_support import WebhookReceiver

ORG = "pattigift"
SUMMARY = "Forum members describe long waits and no culturally appropriate support after discharge."
EVENT_ID = re.compile(rb'"event_id"\s*:\s*"([0-9a-f-]{36})"')
BACKGROUND_THEMES = [t for t in Theme if t not in UNMET_NEED_THEMES]


def _finding(area: str, community: str, theme: str, severity: str, people: int) -> dict:
    a = AREAS[area]
    return {
        "event_id": str(uuid.uuid4()),
        "source": ORG,
        "area": area,
        "region": a.region.value,
        "occurred_at": (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat(),
        "type": "uk.nhs.commissioning.finding.v1",
        "data": {
            "community": community,
            "theme": theme,
            "severity": severity,
            "people_affected": people,
            "finding_source": "community_forum",
            "summary": SUMMARY,
        },
    }


def background_finding(rng: random.Random) -> dict:
    return _finding(
        rng.choice(list(AREAS)),
        rng.choice(list(Community)).value,
        rng.choice(BACKGROUND_THEMES).value,
        rng.choice(list(Severity)).value,
        rng.randrange(1, 60),
    )


def trigger_finding(area: str, community: str) -> dict:
    return _finding(area, community, Theme.UNMET_NEED.value, Severity.CRITICAL.value, 1000)


def subscribe(stack: Stack, operator_key: str, target: str) -> dict:
    import urllib.request

    body = json.dumps(
        {"areas": sorted(AREAS), "channel": "webhook", "target": target, "min_severity": "amber"}
    ).encode()
    req = urllib.request.Request(
        stack.url("alerts-api", "/v1/subscriptions"),
        data=body,
        method="POST",
        headers={"authorization": f"Bearer {operator_key}", "content-type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


async def load(
    stack: Stack,
    partner_key: str,
    seconds: float,
    rate: float,
    batch: int,
    pairs: list[tuple[str, str]],
    seed: int = 11,
) -> dict:
    rng = random.Random(seed)
    headers = {"authorization": f"Bearer {partner_key}", "content-type": "application/json"}
    posted_at: dict[str, float] = {}
    trigger_ids: dict[str, str] = {}  # event id -> fingerprint
    bg = {"sent": 0, "accepted": 0, "statuses": {}, "latencies": []}
    trig = {"statuses": {}, "latencies": []}
    in_flight = asyncio.Semaphore(64)

    async def post_batch(session: aiohttp.ClientSession, events: list[dict]) -> None:
        async with in_flight:
            t0 = time.perf_counter()
            async with session.post(
                stack.url("intake", "/v1/findings:batch"), data=json.dumps({"events": events}).encode(), headers=headers
            ) as r:
                raw = await r.read()
            bg["latencies"].append(time.perf_counter() - t0)
            bg["statuses"][r.status] = bg["statuses"].get(r.status, 0) + 1
            if r.status == 200:
                bg["accepted"] += json.loads(raw)["counts"].get("accepted", 0)

    async def post_trigger(session: aiohttp.ClientSession, area: str, community: str) -> None:
        finding = trigger_finding(area, community)
        body = json.dumps(finding).encode()
        fp = fingerprint(AlertRule.UNMET_NEED, area, f"community:{community}")
        trigger_ids[finding["event_id"]] = fp
        posted_at[fp] = time.time()
        t0 = time.perf_counter()
        async with session.post(stack.url("intake", "/v1/findings"), data=body, headers=headers) as r:
            await r.read()
        trig["latencies"].append(time.perf_counter() - t0)
        trig["statuses"][r.status] = trig["statuses"].get(r.status, 0) + 1

    tick = batch / rate
    trigger_every = seconds / (len(pairs) + 1)
    tasks: list[asyncio.Task] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as session:
        start = time.monotonic()
        next_bg, next_trig, k, j = start, start + trigger_every, 0, 0
        while True:
            now = time.monotonic()
            if now - start >= seconds:
                break
            if now >= next_bg:
                events = [background_finding(rng) for _ in range(batch)]
                bg["sent"] += len(events)
                tasks.append(asyncio.create_task(post_batch(session, events)))
                k += 1
                next_bg = start + k * tick
            if j < len(pairs) and now >= next_trig:
                tasks.append(asyncio.create_task(post_trigger(session, *pairs[j])))
                j += 1
                next_trig = start + (j + 1) * trigger_every
            await asyncio.sleep(max(0.0, min(next_bg, next_trig if j < len(pairs) else next_bg) - time.monotonic()))
        sent_for = time.monotonic() - start
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - start
    return {
        "posted_at": posted_at,
        "trigger_ids": trigger_ids,
        "background": bg,
        "triggers": trig,
        "sending_seconds": round(sent_for, 2),
        "seconds_until_all_answered": round(elapsed, 2),
    }


class LagSampler:
    """Once a second, each stream worker's lag (log end minus committed offset, summed over
    partitions) on the topic it reads; keeps the largest seen, to tell where time went."""

    GROUPS = {
        "mapping": ("csp-mapping", FINDINGS.name),
        "alerts": ("csp-alerts", MAPPED.name),
        "reporting-worker": ("csp-reporting", MAPPED.name),
    }

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.max: dict[str, int] = {}
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from kafka import KafkaConsumer
        from kafka.admin import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=self.stack.bootstrap)
        consumer = KafkaConsumer(bootstrap_servers=self.stack.bootstrap, group_id=None)
        try:
            while not self.stop.wait(1.0):
                for name, (group, topic) in self.GROUPS.items():
                    try:
                        committed = admin.list_group_offsets({group: None}).get(group, {})
                        parts = [tp for tp in committed if tp.topic == topic]
                        ends = consumer.end_offsets(parts) if parts else {}
                    except Exception as exc:  # noqa: BLE001 - diagnostics only; kept in the report
                        self.errors.append(f"{name}: {exc!r}")
                        continue
                    lag = sum(max(0, ends[tp] - committed[tp].offset) for tp in parts)
                    self.max[name] = max(self.max.get(name, 0), lag)
        finally:
            consumer.close()
            admin.close()

    def committed(self) -> dict[str, int]:
        """Each worker's committed offsets on its topic, summed: how far it has got. A partition
        it has committed nothing on yet counts from the log's start (where it will begin)."""
        from kafka import KafkaConsumer, TopicPartition
        from kafka.admin import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=self.stack.bootstrap)
        consumer = KafkaConsumer(bootstrap_servers=self.stack.bootstrap, group_id=None)
        try:
            out = {}
            for name, (group, topic) in self.GROUPS.items():
                offsets = admin.list_group_offsets({group: None}).get(group, {})
                parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
                starts = consumer.beginning_offsets(parts)
                out[name] = sum(
                    offsets[tp].offset if tp in offsets and offsets[tp].offset >= 0 else starts[tp] for tp in parts
                )
            return out
        finally:
            consumer.close()
            admin.close()

    def __enter__(self) -> "LagSampler":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


def run(
    stack: Stack,
    seconds: float = 60,
    rate: float = 500,
    batch: int = 25,
    triggers: int = 200,
    settle: float = 60,
    seed: int = 11,
) -> dict:
    """Needs the whole platform up (all six services) with nothing left to catch up on."""
    pairs = [(a, c.value) for a in AREAS for c in Community]
    if triggers > len(pairs):
        raise ValueError(f"at most {len(pairs)} triggers (one per area and community)")
    random.Random(seed).shuffle(pairs)
    pairs = pairs[:triggers]
    receiver = WebhookReceiver(base=stack.base)
    try:
        # One trigger per area and community: the partner serves every area.
        partner = stack.create_key(ORG, "partner", areas=",".join(AREAS), name="Pattigift")
        operator = stack.create_key("bench-ops", "operator", name="Benchmark operations")
        sub = subscribe(stack, operator, receiver.url)
        log(
            f"e2e: webhook receiver {receiver.url}, subscription {sub['id']}; {seconds:g}s of "
            f"{rate:g} events/s in batches of {batch} plus {triggers} threshold-crossing findings"
        )
        with LagSampler(stack) as lag:
            before, t0 = lag.committed(), time.monotonic()
            out = asyncio.run(load(stack, partner, seconds, rate, batch, pairs, seed))
            after, t1 = lag.committed(), time.monotonic()
            posted_at = out["posted_at"]
            deadline = time.monotonic() + settle
            while time.monotonic() < deadline:
                arrived = _first_arrivals(receiver)
                if set(posted_at) <= set(arrived):
                    break
                time.sleep(0.25)
            arrived = _first_arrivals(receiver)
    finally:
        receiver.close()
    latencies = [arrived[fp] - t for fp, t in posted_at.items() if fp in arrived]
    bg, trig = out["background"], out["triggers"]
    result = {
        "seconds": seconds,
        "settle_seconds": settle,
        "background_rate_target": rate,
        "background_batch": batch,
        "background_sent": bg["sent"],
        "background_accepted": bg["accepted"],
        # Accepted events over the time until the last of them was answered, not just sent.
        "background_achieved_events_per_s": round(bg["accepted"] / out["seconds_until_all_answered"], 1),
        "seconds_until_all_answered": out["seconds_until_all_answered"],
        "background_statuses": {str(k): v for k, v in sorted(bg["statuses"].items())},
        "background_request_latency": latency_summary(bg["latencies"]),
        "triggers_posted": len(posted_at),
        "trigger_statuses": {str(k): v for k, v in sorted(trig["statuses"].items())},
        "trigger_post_latency": latency_summary(trig["latencies"]),
        "webhooks_received": sum(1 for fp in posted_at if fp in arrived),
        "webhooks_missing": sum(1 for fp in posted_at if fp not in arrived),
        "unexpected_alerts_notified": len(set(arrived) - set(posted_at)),
        "post_to_webhook": latency_summary(latencies),
        "post_to_webhook_by_stage": stage_breakdown(stack.bootstrap, out["trigger_ids"], posted_at, arrived),
        "max_consumer_lag_records": dict(lag.max),
        # Records each stream worker committed while the load ran: its rate when it keeps up,
        # its capacity when it does not.
        "worker_events_per_s_under_load": {name: round((after[name] - before[name]) / (t1 - t0), 1) for name in after},
        "lag_sampling_errors": lag.errors[:5],
        "target_p99_ms": 2000,
    }
    p99 = result["post_to_webhook"]["p99_ms"]
    result["meets_target"] = bool(p99 is not None and p99 < 2000 and result["webhooks_missing"] == 0)
    log(
        f"e2e: {result['webhooks_received']}/{len(posted_at)} webhooks, post to webhook p50 "
        f"{result['post_to_webhook']['p50_ms']} ms, p99 {p99} ms; background "
        f"{result['background_achieved_events_per_s']:,.0f} events/s accepted"
    )
    return result


def stage_breakdown(
    bootstrap: str, trigger_ids: dict[str, str], posted_at: dict[str, float], arrived: dict[str, float]
) -> dict:
    """Where each threshold crossing spent its time, from the records' own timestamps (set by
    each producer when it sends, on this machine's clock): post -> on the intake topic (intake)
    -> on the mapped topic (mapping) -> its alert on alerts.v1 (alerts worker: batch, evaluation,
    commit, relay) -> webhook received (alerts API delivery; it starts from the same commit as
    the relay, so this last stage can be near zero or even negative)."""
    from kafka import KafkaConsumer, TopicPartition

    by_topic: dict[str, dict[str, float]] = {FINDINGS.name: {}, MAPPED.name: {}, ALERTS.name: {}}
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    try:
        parts = [TopicPartition(t, p) for t in by_topic for p in sorted(consumer.partitions_for_topic(t) or ())]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        while any(consumer.position(tp) < ends[tp] for tp in parts):
            for tp, records in consumer.poll(timeout_ms=500, max_records=5000).items():
                seen = by_topic[tp.topic]
                for r in records:
                    if r.offset >= ends[tp] or r.value is None:
                        continue
                    if tp.topic == ALERTS.name:
                        body = json.loads(r.value)
                        key = body.get("fingerprint")
                        if key not in posted_at:
                            continue
                    else:
                        found = EVENT_ID.search(r.value)
                        if found is None or found.group(1).decode() not in trigger_ids:
                            continue
                        key = trigger_ids[found.group(1).decode()]
                    seen[key] = min(seen.get(key, r.timestamp / 1000), r.timestamp / 1000)
    finally:
        consumer.close()
    stages = {"intake": [], "mapping": [], "alerts_worker": [], "delivery": []}
    for fp, t0 in posted_at.items():
        times = [
            t0,
            by_topic[FINDINGS.name].get(fp),
            by_topic[MAPPED.name].get(fp),
            by_topic[ALERTS.name].get(fp),
            arrived.get(fp),
        ]
        if any(t is None for t in times):
            continue
        for name, a, b in zip(stages, times, times[1:]):
            stages[name].append(b - a)
    return {name: latency_summary(values) for name, values in stages.items()}


def _first_arrivals(receiver: WebhookReceiver) -> dict[str, float]:
    """fingerprint -> when the first firing notification naming it arrived."""
    out: dict[str, float] = {}
    for d in list(receiver.deliveries):
        payload = d.payload
        for alert in payload.get("alerts", []):
            if alert.get("status") == "firing":
                fp = alert["fingerprint"]
                out[fp] = min(out.get(fp, d.received_at), d.received_at)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--triggers", type=int, default=200)
    args = parser.parse_args(argv)
    stack = Stack()
    try:
        log(f"fresh Kafka and PostgreSQL ({stack.home}); starting the platform")
        stack.fresh()
        stack.start()
        body = run(stack, args.seconds, args.rate, args.batch, args.triggers)
        body["peak_memory_mib"] = stack.peak_memory()
    finally:
        stack.stop_all()
    report("e2e", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())

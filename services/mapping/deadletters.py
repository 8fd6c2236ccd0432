"""List and replay dead letters (after the rules are fixed).

    python -m services.mapping.deadletters list [--stage map] [--since 2026-11-01T00:00:00+00:00] [--json]
    python -m services.mapping.deadletters replay --event-id ID [--event-id ID ...] [--dry-run]
    python -m services.mapping.deadletters replay --all [--stage map] [--since ...] [--dry-run]

Replay writes each letter's original record back to the topic it came from, with its key and a
``csp_replayed_from`` header; the mapping worker maps it again. Replaying twice is harmless:
every consumer counts an event id once.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from pydantic import ValidationError

from contracts.events import DeadLetter
from contracts.topics import DEADLETTER
from services.common.settings import CommonSettings


def read_all(bootstrap: str, timeout_s: float = 15.0) -> list[tuple[str, DeadLetter]]:
    """Every dead letter on the topic now, as (position, letter); position is 'partition:offset'."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None, client_id="csp-deadletters"
    )
    try:
        parts = [
            TopicPartition(DEADLETTER.name, p) for p in sorted(consumer.partitions_for_topic(DEADLETTER.name) or [])
        ]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        out, deadline = [], time.monotonic() + timeout_s
        while any(consumer.position(tp) < ends[tp] for tp in parts):
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out reading {DEADLETTER.name} after {timeout_s}s")
            for batch in consumer.poll(timeout_ms=500).values():
                for r in batch:
                    try:
                        out.append((f"{r.partition}:{r.offset}", DeadLetter.model_validate_json(r.value)))
                    except ValidationError:
                        print(
                            f"warning: {DEADLETTER.name} {r.partition}:{r.offset} is not a dead letter; skipped",
                            file=sys.stderr,
                        )
        return sorted(out, key=lambda x: x[1].failed_at)
    finally:
        consumer.close()


def select(letters, stage: str | None, since: datetime | None, event_ids: set[str] | None):
    for pos, letter in letters:
        if stage and letter.stage != stage:
            continue
        if since and letter.failed_at < since:
            continue
        if event_ids is not None and letter.event_id not in event_ids:
            continue
        yield pos, letter


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.mapping.deadletters",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in ("list", "replay"):
        p = sub.add_parser(name)
        p.add_argument("--stage", choices=["decode", "validate", "map", "process"])
        p.add_argument("--since", type=datetime.fromisoformat, help="ISO time with offset")
    sub.choices["list"].add_argument("--json", action="store_true", help="one JSON object per line")
    rp = sub.choices["replay"]
    rp.add_argument("--event-id", action="append", dest="event_ids")
    rp.add_argument("--all", action="store_true", help="every selected letter")
    rp.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    bootstrap = CommonSettings().kafka_bootstrap

    if args.cmd == "replay" and not (args.all or args.event_ids):
        parser.error("replay needs --event-id or --all")
    ids = set(args.event_ids) if getattr(args, "event_ids", None) else None
    chosen = list(select(read_all(bootstrap), args.stage, args.since, ids))

    if args.cmd == "list":
        for pos, letter in chosen:
            if args.json:
                print(json.dumps({"position": pos, **letter.model_dump(mode="json", exclude={"original"})}))
            else:
                print(
                    f"{letter.failed_at:%Y-%m-%d %H:%M:%S}  {letter.stage:<8} "
                    f"{letter.source_topic}:{letter.partition}:{letter.offset}  "
                    f"{letter.event_id or '-':<36}  {letter.reason}"
                )
        print(f"{len(chosen)} dead letter(s)", file=sys.stderr)
        return 0

    if ids is not None:
        missing = ids - {letter.event_id for _, letter in chosen}
        if missing:
            print(f"not on {DEADLETTER.name}: {', '.join(sorted(missing))}", file=sys.stderr)
            return 1
    if args.dry_run:
        for pos, letter in chosen:
            print(f"would replay {letter.event_id or pos} to {letter.source_topic}")
        return 0
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", client_id="csp-deadletters")
    try:
        for pos, letter in chosen:
            headers = [("csp_replayed_from", f"{DEADLETTER.name}:{pos}".encode())]
            if letter.event_id:
                headers.append(("ce_id", letter.event_id.encode()))
            producer.send(
                letter.source_topic,
                key=(letter.area or "").encode() or None,
                value=letter.original.encode(),
                headers=headers,
            ).get(timeout=30)
            print(f"replayed {letter.event_id or pos} to {letter.source_topic}")
    finally:
        producer.close()
    print(f"{len(chosen)} dead letter(s) replayed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

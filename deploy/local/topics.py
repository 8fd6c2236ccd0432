"""Create the platform's Kafka topics from contracts/topics.py (kafka-python admin client).

    python -m deploy.local.topics                 # create missing topics, report existing ones
    python -m deploy.local.topics --check-broker  # exit 0 when the broker answers
"""
from __future__ import annotations

import os
import sys
import time

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from contracts.topics import ALL_TOPICS


def bootstrap() -> str:
    return os.environ.get("CSP_KAFKA_BOOTSTRAP", "127.0.0.1:19092")


def admin(timeout_s: float = 10.0) -> KafkaAdminClient:
    return KafkaAdminClient(bootstrap_servers=bootstrap(), client_id="csp-topics",
                            request_timeout_ms=int(timeout_s * 1000))


def ensure_topics(retries: int = 30) -> list[str]:
    """Create every topic that does not exist yet; return the names created."""
    last: Exception | None = None
    for _ in range(retries):
        try:
            client = admin()
            try:
                existing = set(client.list_topics())
                missing = [t for t in ALL_TOPICS if t.name not in existing]
                if missing:
                    try:
                        client.create_topics([
                            NewTopic(t.name, t.partitions, 1,
                                     topic_configs={"retention.ms": str(t.retention_ms),
                                                    "min.insync.replicas": "1"})
                            for t in missing])
                    except TopicAlreadyExistsError:
                        pass
                return [t.name for t in missing]
            finally:
                client.close()
        except KafkaError as exc:  # broker still electing its controller: try again
            last = exc
            time.sleep(1)
    raise SystemExit(f"could not create topics on {bootstrap()}: {last}")


def main(argv: list[str]) -> int:
    if "--check-broker" in argv:
        try:
            client = admin(timeout_s=3)
            client.list_topics()
            client.close()
            return 0
        except Exception as exc:  # noqa: BLE001 - a readiness probe answers yes or no
            print(f"broker not ready: {exc}", file=sys.stderr)
            return 1
    created = ensure_topics()
    for t in ALL_TOPICS:
        state = "created" if t.name in created else "exists"
        print(f"topic {t.name:<24} partitions={t.partitions} key={t.key} {state}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Create the platform's Kafka topics from contracts/topics.py (kafka-python admin client): the
one step that makes topics, run by the local stack (deploy/local/kafka.sh), compose's and
Kubernetes' init jobs. faust never declares a topic.

    python -m services.common.topics                 # create missing topics, report existing ones
    python -m services.common.topics --check-broker  # exit 0 when the broker answers

``CSP_KAFKA_REPLICATION`` (default 1, a single broker) is each new topic's replication factor and
``CSP_KAFKA_MIN_INSYNC`` (default 1) its ``min.insync.replicas``: a cluster of three brokers takes
3 and 2, so an acknowledged write (acks=all) is on two brokers before the producer hears of it.
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
    return KafkaAdminClient(
        bootstrap_servers=bootstrap(), client_id="csp-topics", request_timeout_ms=int(timeout_s * 1000)
    )


def replication() -> tuple[int, int]:
    """(replication factor, min.insync.replicas) for new topics, from the environment."""
    factor = int(os.environ.get("CSP_KAFKA_REPLICATION", "1"))
    min_insync = int(os.environ.get("CSP_KAFKA_MIN_INSYNC", "1"))
    if not 1 <= min_insync <= factor:
        raise SystemExit(f"CSP_KAFKA_MIN_INSYNC={min_insync} must lie between 1 and CSP_KAFKA_REPLICATION={factor}")
    return factor, min_insync


def ensure_topics(retries: int = 30) -> list[str]:
    """Create every topic that does not exist yet; return the names created."""
    factor, min_insync = replication()
    last: Exception | None = None
    for _ in range(retries):
        try:
            client = admin()
            try:
                existing = set(client.list_topics())
                missing = [t for t in ALL_TOPICS if t.name not in existing]
                if missing:
                    try:
                        client.create_topics(
                            [
                                NewTopic(
                                    t.name,
                                    t.partitions,
                                    factor,
                                    topic_configs={
                                        "retention.ms": str(t.retention_ms),
                                        "min.insync.replicas": str(min_insync),
                                    },
                                )
                                for t in missing
                            ]
                        )
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

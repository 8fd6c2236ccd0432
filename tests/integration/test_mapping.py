"""The mapping worker against a real broker: order per area, poison records, hot reload,
dead-letter replay, and a SIGKILL mid-stream that loses and doubles nothing downstream."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import yaml
from kafka import KafkaProducer

from contracts.events import DeadLetter, MappedEvent
from contracts.topics import DEADLETTER, FINDINGS, MAPPED
from contracts.examples import FINDING
from tests.conftest import REPO, TEST_ENV, TEST_HOME, bearer, http_json, run, url, wait_until
from tests.integration.kafka_probe import records

pytestmark = pytest.mark.integration


def _finding(area="BSOL", region="west_midlands", theme="unmet_need", days_ago=1) -> dict:
    body = copy.deepcopy(FINDING)
    body.update(
        event_id=str(uuid.uuid4()),
        area=area,
        region=region,
        occurred_at=(datetime.now(timezone.utc) - timedelta(days=days_ago)).isoformat(),
    )
    body["data"].update(theme=theme)
    return body


def _post_batch(events, key):
    status, _, answer = http_json(
        "POST", url("intake", "/v1/findings:batch"), {"events": events}, bearer(key), timeout=60
    )
    assert status == 200 and answer["counts"].get("accepted") == len(events), answer
    return answer


def _mapped(ids: set[str]) -> list:
    return [r for r in records(MAPPED.name, timeout=30) if json.loads(r.value)["event"]["event_id"] in ids]


def _letters(ids: set[str]) -> list[DeadLetter]:
    out = [DeadLetter.model_validate_json(r.value) for r in records(DEADLETTER.name)]
    return [d for d in out if d.event_id in ids]


def test_mapped_in_order_per_area(keys):
    events = [_finding() for _ in range(30)]
    _post_batch(events, keys["pattigift"])
    ids = [e["event_id"] for e in events]
    found = wait_until(lambda: m if len(m := _mapped(set(ids))) >= 30 else None, 60, what="30 mapped events")
    assert {r.key for r in found} == {b"BSOL"} and len({r.partition for r in found}) == 1
    in_log_order = [json.loads(r.value)["event"]["event_id"] for r in sorted(found, key=lambda r: r.offset)]
    assert in_log_order == ids
    mapped = MappedEvent.model_validate_json(found[0].value)
    assert mapped.rule_ids and mapped.rules_version and mapped.stages
    # Every record the worker took was in a batch it counted.
    metrics = http_json_text(url("mapping", "/metrics"))
    took = re.search(r'csp_stream_batch_records_sum\{worker="mapping"\} ([0-9.e+]+)', metrics)
    assert took and float(took.group(1)) >= 30, metrics[-2000:]


def test_poison_record_is_dead_lettered_and_does_not_block_the_partition(keys):
    poison_id = str(uuid.uuid4())
    producer = KafkaProducer(bootstrap_servers=TEST_ENV["CSP_KAFKA_BOOTSTRAP"], acks="all")
    producer.send(
        FINDINGS.name,
        key=b"BSOL",
        value=json.dumps({"event_id": poison_id, "area": "BSOL", "data": "nonsense"}).encode(),
    ).get(timeout=10)
    producer.send(FINDINGS.name, key=b"BSOL", value=b"\xff\xfe not even utf-8").get(timeout=10)
    producer.close()
    after = _finding()
    _post_batch([after], keys["pattigift"])
    wait_until(lambda: _mapped({after["event_id"]}), 60, what="the event behind the poison")
    letter = wait_until(lambda: _letters({poison_id}), 30, what="the dead letter")[0]
    assert letter.stage == "validate" and letter.source_topic == FINDINGS.name
    assert json.loads(letter.original)["data"] == "nonsense"
    metrics = http_json_text(url("mapping", "/metrics"))
    assert re.search(
        r'csp_deadletter_records_total\{reason_stage="validate",topic="intake.findings.v1"\} [1-9]', metrics
    ), metrics[-2000:]


def http_json_text(address: str) -> str:
    import urllib.request

    with urllib.request.urlopen(address, timeout=5) as r:
        return r.read().decode()


def _rules_version() -> str | None:
    m = re.search(r'csp_mapping_rules_info\{[^}]*version="([^"]+)"', http_json_text(url("mapping", "/metrics")))
    return m.group(1) if m else None


def _deadletters_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "services.mapping.deadletters", *args],
        env={**os.environ, **TEST_ENV},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_rules_reload_refuses_bad_files_and_dead_letters_replay_after_a_fix(keys):
    path = TEST_ENV["CSP_MAPPING_RULES"]
    original = open(path).read()
    raw = yaml.safe_load(original)
    try:
        # 1. A broken file is refused; the rules in force stay.
        before = _rules_version()
        with open(path, "w") as f:
            f.write(original.replace("cdw_roles: [access_facilitator]", "cdw_roles: [wizard]", 1))
        wait_until(
            lambda: "rule set refused" in (TEST_HOME / "logs" / "mapping.log").read_text(),
            20,
            what="the refusal in the log",
        )
        assert _rules_version() == before
        # 2. Rules without a stigma rule: a stigma finding cannot be placed.
        raw_without = dict(raw, version="2099.1.1", themes=[t for t in raw["themes"] if t["theme"] != "stigma"])
        with open(path, "w") as f:
            yaml.safe_dump(raw_without, f)
        wait_until(lambda: _rules_version() == "2099.1.1", 20, what="rules 2099.1.1 in force")
        stigma = _finding(theme="stigma")
        _post_batch([stigma], keys["pattigift"])
        letter = wait_until(lambda: _letters({stigma["event_id"]}), 60, what="stigma dead letter")[0]
        assert letter.stage == "map" and "stigma" in letter.reason and letter.rules_version == "2099.1.1"
        listed = _deadletters_cli("list", "--stage", "map", "--json")
        assert listed.returncode == 0 and stigma["event_id"] in listed.stdout
    finally:
        with open(path, "w") as f:
            f.write(original.replace(f'version: "{raw["version"]}"', 'version: "2099.1.2"'))
    # 3. Rules fixed: replay the dead letter and it is mapped under the new version.
    wait_until(lambda: _rules_version() == "2099.1.2", 20, what="rules 2099.1.2 in force")
    replay = _deadletters_cli("replay", "--event-id", stigma["event_id"])
    assert replay.returncode == 0, replay.stderr
    mapped = wait_until(lambda: _mapped({stigma["event_id"]}), 60, what="the replayed event mapped")
    assert MappedEvent.model_validate_json(mapped[0].value).rules_version == "2099.1.2"
    missing = _deadletters_cli("replay", "--event-id", str(uuid.uuid4()))
    assert missing.returncode == 1 and "not on" in missing.stderr


def _report_findings(key, area="EASI") -> int:
    status, _, body = http_json(
        "GET", url("reporting", f"/v1/reports/summary?area={area}&days=30"), headers=bearer(key)
    )
    assert status == 200, body
    return body["findings"]["current"]


def test_sigkill_of_the_mapping_worker_loses_and_doubles_nothing(keys):
    operator = keys["operator"]
    before = _report_findings(operator)
    events = [_finding(area="EASI", region="north_east", days_ago=3) for _ in range(400)]
    run("services.sh", "kill", "mapping")  # SIGKILL: no chance to commit or flush
    for i in range(0, 400, 100):
        _post_batch(events[i : i + 100], keys["pattigift"])
    run("services.sh", "start", "mapping", timeout=180)
    run("services.sh", "kill", "mapping")  # and again, while it works through the backlog
    run("services.sh", "start", "mapping", timeout=180)
    wait_until(lambda: _report_findings(operator) - before >= 400, 120, what="400 findings reported")
    assert _report_findings(operator) - before == 400
    mapped_ids = [json.loads(r.value)["event"]["event_id"] for r in records(MAPPED.name, timeout=30)]
    assert {e["event_id"] for e in events} <= set(mapped_ids)

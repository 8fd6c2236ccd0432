"""Kubernetes for scale-out: every stateless Deployment runs two pods at least and has a
PodDisruptionBudget that lets a drain take one, the autoscalers (policy/v1 and autoscaling/v2 are
checked against the strict schemas with the rest) read metrics that exist, and no worker may
run more pods than partitions carrying areas.
"""

from __future__ import annotations

import copy

import pytest

from deploy import validate

REPO = validate.REPO


@pytest.fixture()
def docs() -> list[tuple[str, dict]]:
    return copy.deepcopy(_DOCS)


_DOCS = validate.k8s_documents(REPO)


def _one(docs, kind: str, name: str) -> dict:
    return next(d for _, d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


def _problems(docs) -> str:
    return "\n".join(validate.k8s_consistency_problems(docs, REPO))


def test_every_deployment_runs_two_pods_at_least_with_a_budget_and_the_new_kinds_are_schema_checked(docs):
    hpa_min = {
        d["spec"]["scaleTargetRef"]["name"]: d["spec"]["minReplicas"]
        for _, d in docs
        if d["kind"] == "HorizontalPodAutoscaler"
    }
    deployments = [d for _, d in docs if d["kind"] == "Deployment"]
    assert {d["metadata"]["name"] for d in deployments} >= {
        "intake",
        "alerts-api",
        "reporting",
        "mapping",
        "alerts",
        "reporting-worker",
    }
    for d in deployments:
        assert validate.min_replicas(d, hpa_min) >= 2, d["metadata"]["name"]
    assert {d["apiVersion"] for _, d in docs if d["kind"] == "PodDisruptionBudget"} == {"policy/v1"}
    assert {d["apiVersion"] for _, d in docs if d["kind"] == "HorizontalPodAutoscaler"} == {"autoscaling/v2"}
    # Every process has an autoscaler: CPU for the HTTP services, consumer lag for the workers.
    assert set(hpa_min) == {d["metadata"]["name"] for d in deployments}
    assert validate.check_k8s(REPO, docs) == []


def test_a_single_replica_deployment_is_refused(docs):
    docs = [
        (f, d)
        for f, d in docs
        if not (d["kind"] == "HorizontalPodAutoscaler" and d["metadata"]["name"] == "alerts-api")
    ]
    _one(docs, "Deployment", "alerts-api")["spec"]["replicas"] = 1
    assert "Deployment/alerts-api: runs 1 replica(s) at least" in _problems(docs)


def test_an_autoscaler_floor_of_one_is_refused(docs):
    _one(docs, "HorizontalPodAutoscaler", "intake")["spec"]["minReplicas"] = 1
    assert "Deployment/intake: runs 1 replica(s) at least" in _problems(docs)


def test_a_deployment_without_a_budget_is_refused(docs):
    docs = [
        (f, d) for f, d in docs if not (d["kind"] == "PodDisruptionBudget" and d["metadata"]["name"] == "reporting")
    ]
    assert "Deployment/reporting has no PodDisruptionBudget" in _problems(docs)


def test_a_budget_that_blocks_every_drain_or_allows_all_pods_away_is_refused(docs):
    _one(docs, "PodDisruptionBudget", "mapping")["spec"]["maxUnavailable"] = 0
    pdb = _one(docs, "PodDisruptionBudget", "alerts")
    del pdb["spec"]["maxUnavailable"]
    pdb["spec"]["minAvailable"] = 2
    problems = _problems(docs)
    assert "PodDisruptionBudget/mapping: maxUnavailable 0 must be a count from 1 to 1" in problems
    assert "PodDisruptionBudget/alerts: minAvailable 2 must be a count from 1 to 1" in problems


def test_replicas_next_to_an_autoscaler_are_refused(docs):
    _one(docs, "Deployment", "reporting-worker")["spec"]["replicas"] = 3
    assert "Deployment/reporting-worker: sets replicas although an autoscaler scales it" in _problems(docs)


def test_an_external_metric_the_adapter_does_not_serve_is_refused(docs):
    metric = _one(docs, "HorizontalPodAutoscaler", "alerts")["spec"]["metrics"][0]["external"]["metric"]
    metric["name"] = "csp_kafka_consumer_lag_seconds"
    assert "external metric csp_kafka_consumer_lag_seconds is not served" in _problems(docs)


def test_the_adapter_serves_the_lag_from_the_series_the_workers_export():
    served = validate.adapter_external_metrics(REPO)
    assert served == {"csp_kafka_consumer_lag_records": "csp_kafka_consumer_lag_records"}
    assert "csp_kafka_consumer_lag_records" in validate.known_series(REPO)


def test_workers_scale_no_further_than_the_partitions_that_carry_areas(docs):
    # Today's 15 areas hash onto 5 of the 6 partitions (murmur2, as every producer places them).
    assert validate.partitions_in_use(("MAPPED",)) == 5
    _one(docs, "HorizontalPodAutoscaler", "reporting-worker")["spec"]["maxReplicas"] = 6
    assert "may run 6 replicas, but its topics have 6 partitions, of which 5 carry areas" in _problems(docs)

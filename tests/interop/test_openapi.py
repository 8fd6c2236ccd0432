"""Every HTTP service's OpenAPI document, as served, validated by openapi-spec-validator (the
validator partners' client generators and gateways rely on)."""

from __future__ import annotations

import copy

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from tests.conftest import http_json, url

HTTP_SERVICES = ("intake", "alerts-api", "reporting")


def served_document(service: str) -> dict:
    status, _, document = http_json("GET", url(service, "/openapi.json"))
    assert status == 200, (service, status)
    return document


@pytest.mark.parametrize("service", HTTP_SERVICES)
def test_the_served_document_is_valid_openapi(stack, service):
    document = served_document(service)
    assert document["openapi"].startswith("3.1"), document["openapi"]
    assert document["paths"], service
    validate(document)


def test_the_validator_refuses_a_broken_document(stack):
    """The check can fail: a path parameter the operation does not declare is an error."""
    document = copy.deepcopy(served_document("alerts-api"))
    path = next(p for p in document["paths"] if "{fingerprint}" in p)
    for operation in document["paths"][path].values():
        operation["parameters"] = [p for p in operation.get("parameters", []) if p.get("name") != "fingerprint"]
    with pytest.raises(OpenAPIValidationError):
        validate(document)


def _operations(document: dict):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if path.startswith("/v1/"):
                yield f"{method.upper()} {path}", operation


@pytest.mark.parametrize("service", HTTP_SERVICES)
def test_every_route_documents_the_problems_it_can_answer(stack, service):
    """401, 422, 429 and 503 can come from any API route (key, parameters, rate limit, store
    away), 413 and 415 from any route that takes a body: each is documented as problem+json."""
    missing = []
    for name, operation in _operations(served_document(service)):
        wanted = {"401", "422", "429", "503"} | ({"413", "415"} if "requestBody" in operation else set())
        for code in sorted(wanted):
            answer = operation["responses"].get(code, {})
            if "application/problem+json" not in answer.get("content", {}):
                missing.append(f"{name} {code}")
    assert not missing, missing

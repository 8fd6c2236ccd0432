"""The funding flow contract (contracts/funding.py) and who may post a flow (the registry rule)."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from contracts.events import MAX_GBP, partner_event_adapter
from contracts.examples import FUNDING
from contracts.funding import FUNDING_TYPE, FlowKind, FundingFlowEvent, PartyRole
from contracts.topics import FUNDING as FUNDING_TOPIC
from contracts.topics import INTAKE_TOPIC_FOR_TYPE
from services.common.admission.prepare import prepare
from services.common.organisations import Registration, check_shares, may_report


def event(**data) -> dict:
    body = copy.deepcopy(FUNDING)
    body["data"].update(data)
    return body


def refused(body: dict) -> list[str]:
    with pytest.raises(ValidationError) as info:
        FundingFlowEvent.model_validate(body)
    return [".".join(map(str, e["loc"])) for e in info.value.errors()]


def test_the_example_is_a_payment_from_the_trust_to_the_alliance_lead():
    flow = partner_event_adapter.validate_python(FUNDING)
    assert isinstance(flow, FundingFlowEvent) and flow.type == FUNDING_TYPE
    assert flow.data.kind is FlowKind.PAYMENT and flow.data.payee.role is PartyRole.LEAD_BODY
    assert flow.data.parties == ("somerset-nhs-ft", "rethink-somerset")
    assert INTAKE_TOPIC_FOR_TYPE[FUNDING_TYPE] is FUNDING_TOPIC


def test_amounts_are_pounds_bounded_and_not_negative():
    assert refused(event(amount_gbp=-1.0)) == ["data.amount_gbp"]
    assert refused(event(amount_gbp=MAX_GBP * 2)) == ["data.amount_gbp"]
    assert refused(event(amount_gbp="500")) == ["data.amount_gbp"]
    assert refused(event(amount_gbp=float("nan"))) == ["data.amount_gbp"]


def test_a_flow_names_two_parties_a_period_and_a_reference():
    assert refused(event(payee=FUNDING["data"]["payer"]))  # paying itself
    assert refused(event(period_end="2026-09-30"))  # ends before it starts
    assert refused(event(reference="has spaces")) == ["data.reference"]
    assert refused(event(payer={"organisation_id": "x-trust", "role": "bank"})) == ["data.payer.role"]
    assert "data.colour" in refused(event(colour="blue"))


def test_a_grant_award_carries_its_terms_and_only_an_award_does():
    grant = {
        "scheme": "som-small-grants",
        "conditions": ["venues and stationery"],
        "start_date": "2026-11-01",
        "spend_by": "2027-03-31",
    }
    scheme = {"organisation_id": "som-small-grants", "role": "grant_scheme"}
    ok = FundingFlowEvent.model_validate(event(kind="grant_award", payer=scheme, grant=grant, amount_gbp=2500.0))
    assert ok.data.grant is not None and ok.data.grant.spend_by.isoformat() == "2027-03-31"
    assert refused(event(kind="grant_award", payer=scheme))  # no terms
    assert refused(event(kind="grant_award", grant=grant))  # not a scheme
    assert refused(event(grant=grant))  # a payment
    assert refused(event(kind="grant_award", payer=scheme, grant={**grant, "spend_by": "2026-10-01"}))


def test_only_a_party_to_the_flow_may_post_it_and_the_refusal_names_the_party_fields():
    trust = Registration("somerset-nhs-ft", "Somerset NHS FT", "nhs_trust", frozenset({"SOM"}))
    stranger = Registration("pattigift", "Pattigift", "vcse_provider", frozenset({"SOM"}))
    flow = FundingFlowEvent.model_validate(FUNDING)
    prepared = prepare(flow, datetime.now(timezone.utc) + timedelta(days=400), timedelta(seconds=30))
    assert prepared.parties == ("somerset-nhs-ft", "rethink-somerset")
    assert may_report(trust, "SOM", None, prepared.parties) is None
    no = may_report(stranger, "SOM", None, prepared.parties)
    assert no is not None and no.fields == ["data.payer.organisation_id", "data.payee.organisation_id"]
    assert "pattigift" in no.errors[0]["reason"]
    elsewhere = may_report(trust, "BSOL", None, prepared.parties)
    assert elsewhere is not None and elsewhere.fields == ["area"]


def test_alliance_shares_are_members_shares_of_at_most_the_whole():
    check_shares(["a-member", "b-member"], {"a-member": 0.6, "b-member": 0.4})
    with pytest.raises(ValueError, match="not members"):
        check_shares(["a-member"], {"c-member": 0.1})
    with pytest.raises(ValueError, match="more than the whole"):
        check_shares(["a-member", "b-member"], {"a-member": 0.7, "b-member": 0.4})
    with pytest.raises(ValueError, match="between 0 and 1"):
        check_shares(["a-member"], {"a-member": 1.5})

"""Request examples for the OpenAPI docs, drawn from the seed documents."""

FINDING = {
    "event_id": "3f6c1c1e-8a2b-4f0e-9d51-6c1f7a2b9e10",
    "source": "pattigift",
    "occurred_at": "2026-11-02T18:30:00+00:00",
    "area": "BSOL",
    "region": "west_midlands",
    "type": "uk.nhs.commissioning.finding.v1",
    "data": {
        "community": "african_caribbean",
        "theme": "unmet_need",
        "severity": "high",
        "people_affected": 40,
        "finding_source": "community_forum",
        "cdw_role": "change_agent",
        "service": "Talking therapies",
        "summary": "Forum members describe no culturally appropriate counselling after discharge; "
        "families turn to churches and the Revolving Door project instead.",
        "recommendation": "Commission African centred counselling as part of the talking therapies pathway.",
    },
}
PERFORMANCE = {
    "event_id": "9b2d7e4a-51c3-4e0b-8f6a-2d9c0e7b1a44",
    "source": "somerset-vcse-alliance",
    "occurred_at": "2026-10-31T09:00:00+00:00",
    "area": "SOM",
    "region": "south_west",
    "type": "uk.nhs.commissioning.performance.v1",
    "data": {
        "provider_id": "somerset-vcse-alliance",
        "provider_name": "Somerset VCSE alliance",
        "provider_sector": "voluntary",
        "indicator": "four_week_wait",
        "period_start": "2026-10-01",
        "period_end": "2026-10-31",
        "value": 81.5,
        "target": 95.0,
        "numerator": 163,
        "denominator": 200,
    },
}
#: The Somerset chain (004:282): the trust passes the commissioner's money on to the accountable
#: VCSE body of the alliance, under the contract's reference.
FUNDING = {
    "event_id": "5a0e2c9d-7b14-4c3e-a8f2-91d6b3e0c7aa",
    "source": "somerset-nhs-ft",
    "occurred_at": "2026-10-08T10:00:00+00:00",
    "area": "SOM",
    "region": "south_west",
    "type": "uk.nhs.commissioning.funding.v1",
    "data": {
        "kind": "payment",
        "reference": "SOM-CMH-2026-Q3",
        "payer": {"organisation_id": "somerset-nhs-ft", "role": "trust", "name": "Somerset NHS Foundation Trust"},
        "payee": {
            "organisation_id": "rethink-somerset",
            "role": "lead_body",
            "name": "Rethink Mental Illness (Somerset VCSE alliance)",
        },
        "amount_gbp": 45000.0,
        "period_start": "2026-10-01",
        "period_end": "2026-12-31",
        "alliance_id": "rethink-somerset",
    },
}

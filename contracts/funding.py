"""Funding flow events: money moving between named parties, and grants awarded with conditions.

The seeds describe how money reaches community organisations and where it stalls: "funding flowed
from the CCG, to the Trust and then to Rethink Mental Illness as the accountable organisation for
the VCSE alliance. This was then shared out depending on which partner is leading on delivering
which part of the co-produced model" (004:282); small grants "ranging from \u00a3500 to 10,000"
(001:739), paid late or left unspent (001:737).

One event type, ``uk.nhs.commissioning.funding.v1``, carries four kinds of flow between a payer
and a payee, each with an amount in pounds, a period and a reference that ties the steps of one
chain together (a commissioner's payment to a trust and the trust's onward payment to the lead
body carry the same reference):

* ``commitment`` - the payer commits the amount to the payee for the period;
* ``payment`` - the payer paid the payee (``occurred_at`` is when);
* ``spend_report`` - the payee reports what it has spent of the money, to date;
* ``grant_award`` - a grant scheme awards a grant, with its conditions, start date and spend-by
  date (``grant``).

Alliances (a lead body, its members and the share each is due) are kept in the organisation
registry (services/common/organisations.py); ``alliance_id`` names the alliance a flow is for.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Final, Literal

from pydantic import Field, model_validator

from .events import EventDate, Money, Slug, _Envelope, _Strict

#: The contract version of funding events (a minor version adds optional fields only).
FUNDING_SCHEMA_VERSION = "1.0.0"
FUNDING_TYPE: Final = "uk.nhs.commissioning.funding.v1"

#: A reference as finance teams write one: letters, digits and / _ . - (an invoice or grant number).
Reference = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9/_.-]{0,99}$",
        description="The flow's reference: the same on every step of one chain (a contract, invoice or grant number).",
    ),
]


class PartyRole(str, Enum):
    """Who a party is in the chain the seeds describe (004:282-294; 001:739, 001:756)."""

    COMMISSIONER = "commissioner"
    TRUST = "trust"
    LEAD_BODY = "lead_body"  # the accountable VCSE organisation of an alliance
    MEMBER = "member"  # a member of an alliance
    GRANT_SCHEME = "grant_scheme"  # a small-grants scheme (Value Added Grants, 001:733)
    GRANT_RECIPIENT = "grant_recipient"  # a community group holding a grant


#: Parties that pass money on: paid for an alliance, they owe an onward payment.
INTERMEDIARIES = frozenset({PartyRole.TRUST, PartyRole.LEAD_BODY})


class FlowKind(str, Enum):
    COMMITMENT = "commitment"
    PAYMENT = "payment"
    SPEND_REPORT = "spend_report"
    GRANT_AWARD = "grant_award"


class Party(_Strict):
    """One end of a flow: a registered organisation and its role in the chain."""

    organisation_id: Slug
    role: PartyRole
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class GrantTerms(_Strict):
    """A grant's scheme, conditions and dates."""

    scheme: Slug = Field(description="The grant scheme's id (a small-grants programme).")
    conditions: list[Annotated[str, Field(min_length=1, max_length=500)]] = Field(
        default_factory=list, max_length=20, description="What the grant may be spent on, and how its use is reported."
    )
    start_date: EventDate = Field(description="When the grant starts: it should be paid by then.")
    spend_by: EventDate = Field(description="When the grant must be spent by.")

    @model_validator(mode="after")
    def _dates_in_order(self) -> "GrantTerms":
        if self.spend_by < self.start_date:
            raise ValueError("spend_by is before start_date")
        return self


class FundingData(_Strict):
    """A commitment, payment, spend report or grant award between two named parties."""

    kind: FlowKind
    reference: Reference
    payer: Party = Field(description="Who commits, pays or awards the money (for a spend report: who funded it).")
    payee: Party = Field(description="Who is due, paid or awarded the money (for a spend report: who spent it).")
    amount_gbp: Money = Field(description="Pounds: committed, paid, spent to date or awarded.")
    period_start: EventDate
    period_end: EventDate
    alliance_id: Slug | None = Field(
        None, description="The alliance the money is for: its lead body's organisation id."
    )
    grant: GrantTerms | None = Field(None, description="A grant award's terms (grant_award only).")
    notes: Annotated[str, Field(max_length=2000)] | None = None

    @model_validator(mode="after")
    def _coherent(self) -> "FundingData":
        if self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        if self.payer.organisation_id == self.payee.organisation_id:
            raise ValueError("payer and payee are the same organisation")
        if self.kind is FlowKind.GRANT_AWARD:
            if self.grant is None:
                raise ValueError("a grant_award needs grant (scheme, conditions, start_date, spend_by)")
            if self.payer.role is not PartyRole.GRANT_SCHEME:
                raise ValueError("a grant_award is made by a party in the role grant_scheme")
        elif self.grant is not None:
            raise ValueError("grant goes with kind 'grant_award' only")
        return self

    @property
    def parties(self) -> tuple[str, str]:
        return self.payer.organisation_id, self.payee.organisation_id


#: The fields naming the parties: a partner posting for a flow it is no party to is told these.
PARTY_FIELDS = ("data.payer.organisation_id", "data.payee.organisation_id")


class FundingFlowEvent(_Envelope):
    """A funding flow between named parties, posted by one of them."""

    type: Literal["uk.nhs.commissioning.funding.v1"] = FUNDING_TYPE
    data: FundingData


__all__ = [
    "FUNDING_SCHEMA_VERSION",
    "FUNDING_TYPE",
    "FlowKind",
    "FundingData",
    "FundingFlowEvent",
    "GrantTerms",
    "INTERMEDIARIES",
    "PARTY_FIELDS",
    "Party",
    "PartyRole",
    "Reference",
]

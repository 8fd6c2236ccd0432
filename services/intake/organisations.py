"""The organisation registry over HTTP, for operators: list, show and register organisations
(the areas each serves, the provider ids it reports for, an alliance's members). The keys CLI
(python -m services.common.keys org ...) does the same from a shell."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.events import Slug
from contracts.places import AREAS
from contracts.vocabulary import OrganisationKind
from services.common.auth import Principal, Role
from services.common.http import authenticate
from services.common.organisations import Registry, UnknownOrganisations
from services.common.problems import API_PROBLEMS, Problem, problem_responses

router = APIRouter(tags=["organisations"], responses=problem_responses(API_PROBLEMS))
OrganisationId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$", description="Organisation id.")]


async def operator(request: Request) -> Principal:
    who = await authenticate(request)
    if who.role is not Role.OPERATOR:
        raise Problem(
            403,
            "Forbidden",
            "only an operator key manages the organisation registry",
            errors=[{"field": "authorization", "reason": f"a {who.role.value} key, not an operator's"}],
        )
    return who


Operator = Annotated[Principal, Depends(operator)]


def registry(request: Request) -> Registry:
    return request.app.state.registry


class RegistrationIn(BaseModel):
    """An organisation's registration; a field left out keeps what is stored."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    kind: OrganisationKind | None = None
    areas: list[str] | None = Field(None, description="Commissioning areas the organisation serves.")
    provider_ids: list[Slug] | None = Field(None, description="Providers it reports for besides itself.")
    members: list[Slug] | None = Field(None, description="An alliance lead's member organisations.")
    shares: dict[Slug, Annotated[float, Field(strict=True, ge=0, le=1)]] | None = Field(
        None, description="With members: the share (0 to 1) of the alliance's money each member is due."
    )

    @field_validator("areas")
    @classmethod
    def _known_areas(cls, areas: list[str] | None) -> list[str] | None:
        unknown = [a for a in areas or [] if a not in AREAS]
        if unknown:
            raise ValueError(f"unknown area code(s): {', '.join(unknown)}")
        return areas


@router.get("/v1/organisations", summary="Every registered organisation (operators)")
async def list_organisations(request: Request, who: Operator) -> dict:
    return {"items": [r.as_dict() for r in await registry(request).all()]}


@router.get(
    "/v1/organisations/{organisation_id}",
    summary="One organisation's registration (operators)",
    responses=problem_responses({404: "No such organisation"}),
)
async def show_organisation(request: Request, who: Operator, organisation_id: OrganisationId) -> dict:
    found = await registry(request).of(organisation_id)
    if found is None:
        raise Problem(404, "Not found", f"no organisation '{organisation_id}'")
    return found.as_dict()


@router.put("/v1/organisations/{organisation_id}", summary="Register or update an organisation (operators)")
async def register_organisation(
    request: Request, who: Operator, organisation_id: OrganisationId, body: RegistrationIn
) -> dict:
    try:
        registered = await registry(request).register(
            organisation_id,
            name=body.name,
            kind=body.kind.value if body.kind else None,
            areas=body.areas,
            provider_ids=body.provider_ids,
            members=body.members,
            shares=body.shares,
        )
    except (UnknownOrganisations, ValueError) as exc:
        reason = (
            f"not registered organisations: {', '.join(exc.ids)}"
            if isinstance(exc, UnknownOrganisations)
            else str(exc)
            if "share" in str(exc)
            else "an organisation is not its own member"
        )
        where = "shares" if body.shares is not None and "share" in reason else "members"
        raise Problem(
            422, "Invalid registration", reason, errors=[{"field": where, "pointer": f"#/{where}", "reason": reason}]
        ) from None
    return registered.as_dict()

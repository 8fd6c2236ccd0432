"""Peer review returns of Focused Implementation Sites: the event a site's peer review panel posts.

The 2006 review of the Delivering Race Equality Focused Implementation Sites (FIS) was a peer
review: "it was agreed that a peer review of the FIS would be carried out" (001:6), its panels
made up of "a service user, a carer, a FIS project manager and Race Equality Lead" (001:8), each
answering five questions (the form at 001:1430-1448: the heading "Questions" at 001:1430, the
questions themselves on lines 1436 to 1448), and its reports "contain clear sets of
recommendations for FI sites" (001:14). A return carries the site (the area), the date, the
panel's make-up by kind, an answer and a rating per question, and the recommendations, each of
which opens a recommendation record in the alerts service like a finding's does.

Versioned like every contract: this is ``...peer-review.v1`` on ``intake.peer-reviews.v1``; its
mapped form (:class:`MappedPeerReview`, the stages and competencies the rule set gives it) goes on
``mapped.peer-reviews.v1``, so the consumers of ``mapped.events.v1`` are not asked to read it.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Final, Literal
from uuid import UUID, uuid5

from pydantic import AwareDatetime, Field, field_validator, model_validator

from .citations import SeedRef, local, seed
from .events import EventDate, FreeText, _Envelope, _Mapped, _Strict
from .taxonomy import Competency, Stage
from .vocabulary import Community, Theme

PEER_REVIEW_TYPE: Final = "uk.nhs.commissioning.peer-review.v1"
#: The CloudEvents type of the mapping service's record of a return on mapped.peer-reviews.v1.
MAPPED_PEER_REVIEW_TYPE: Final = "uk.nhs.commissioning.mapped-peer-review.v1"


class PanelMember(str, Enum):
    """The kinds of member a review panel had: "It was agreed that panels would consist of a
    service user, a carer, a FIS project manager and Race Equality Lead" (001:8)."""

    SERVICE_USER = "service_user"
    CARER = "carer"
    FIS_PROJECT_MANAGER = "fis_project_manager"
    RACE_EQUALITY_LEAD = "race_equality_lead"


#: Each kind for people to read, one and many, in the seed's words (001:8).
PANEL_WORDS: dict[PanelMember, tuple[str, str]] = {
    PanelMember.SERVICE_USER: ("service user", "service users"),
    PanelMember.CARER: ("carer", "carers"),
    PanelMember.FIS_PROJECT_MANAGER: ("FIS project manager", "FIS project managers"),
    PanelMember.RACE_EQUALITY_LEAD: ("Race Equality Lead", "Race Equality Leads"),
}
PANEL_SOURCE: SeedRef = seed(
    "001", 8, "panels would consist of a service user, a carer, a FIS project manager and Race Equality Lead"
)


class ReviewQuestion(str, Enum):
    """The five questions of the review form (001:1430-1448)."""

    DONE_WELL = "done_well"
    GOOD_PRACTICE = "good_practice"
    IMPROVE_EFFECTIVENESS = "improve_effectiveness"
    MAIN_CHALLENGES = "main_challenges"
    SUPPORT_MECHANISMS = "support_mechanisms"


#: Each question's text, verbatim, at its line of the form (a test finds each quote there).
QUESTIONS: dict[ReviewQuestion, SeedRef] = {
    ReviewQuestion.DONE_WELL: seed("001", 1436, "What has the FIS project done particularly well?"),
    ReviewQuestion.GOOD_PRACTICE: seed(
        "001",
        1439,
        "What examples are there of innovative or good practice that could contribute to CSIP’s wider development?",
    ),
    ReviewQuestion.IMPROVE_EFFECTIVENESS: seed(
        "001", 1442, "What could the FIS project do to improve its effectiveness?"
    ),
    ReviewQuestion.MAIN_CHALLENGES: seed(
        "001", 1445, "What are the main challenges facing the FIS project over the next twelve months?"
    ),
    ReviewQuestion.SUPPORT_MECHANISMS: seed("001", 1448, "What support mechanisms will help with these issues?"),
}
QUESTIONS_HEADING: SeedRef = seed("001", 1430, "Questions")
#: Why a return carries recommendations that enter the follow-up loop.
RECOMMENDATIONS_SOURCE: SeedRef = seed("001", 14, "clear sets of recommendations for FI sites")

#: The rating scale. The seeds give the questions but no scale; the platform's is a local default.
RATING_MIN, RATING_MAX = 1, 4
RATING_SOURCE = local(
    "the review form (001:1430-1448) asks five open questions and rates nothing; "
    "1 (little progress) to 4 (strong progress) is the platform's scale, so that "
    "returns can be compared across sites and over time"
)
RATING_WORDS: dict[int, str] = {1: "little progress", 2: "some progress", 3: "good progress", 4: "strong progress"}


class ReviewAnswer(_Strict):
    """The panel's answer to one question and its rating."""

    question: ReviewQuestion
    answer: FreeText = Field(description="The panel's answer in plain words. No personal data.")
    rating: Annotated[int, Field(strict=True, ge=RATING_MIN, le=RATING_MAX)] = Field(
        description="1 (little progress) to 4 (strong progress); a local default scale, the review form has none."
    )


class ReviewRecommendation(_Strict):
    """One recommendation of the review report, for the site's commissioners to answer."""

    recommendation: FreeText = Field(description="What the panel recommends. No personal data.")
    community: Community = Community.BME_COMMUNITIES_GENERALLY
    theme: Theme
    service: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        None, description="The service or pathway it concerns, if one."
    )


#: At most this many panel members of one kind, and recommendations in one return: local
#: defaults, well above the seeds' "over 32 review panel members" across all the reviews (001:4).
MAX_PANEL_OF_A_KIND = 20
MAX_RECOMMENDATIONS = 50


class PeerReviewData(_Strict):
    """A peer review return: the site's review, its panel, five answers and its recommendations."""

    reviewed_on: EventDate = Field(description="The day of the review visit.")
    site_name: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        None, description="The Focused Implementation Site's name, if it has one besides the area."
    )
    panel: dict[PanelMember, Annotated[int, Field(strict=True, ge=0, le=MAX_PANEL_OF_A_KIND)]] = Field(
        description="How many panel members of each kind (001:8): service_user, carer, "
        "fis_project_manager, race_equality_lead; at least one member."
    )
    answers: list[ReviewAnswer] = Field(description="One answer per question, all five questions.")
    recommendations: list[ReviewRecommendation] = Field(
        default_factory=list,
        max_length=MAX_RECOMMENDATIONS,
        description="The review report's recommendations for the site; each opens a "
        "recommendation record for the area's commissioners to answer.",
    )

    @field_validator("panel")
    @classmethod
    def _someone_sat(cls, panel: dict[PanelMember, int]) -> dict[PanelMember, int]:
        if sum(panel.values()) < 1:
            raise ValueError("a panel has at least one member")
        return panel

    @field_validator("answers")
    @classmethod
    def _each_question_once(cls, answers: list[ReviewAnswer]) -> list[ReviewAnswer]:
        asked = [a.question for a in answers]
        repeated = sorted({q.value for q in asked if asked.count(q) > 1})
        if repeated:
            raise ValueError(f"each question is answered once; repeated: {', '.join(repeated)}")
        missing = [q.value for q in ReviewQuestion if q not in asked]
        if missing:
            raise ValueError(f"all five questions are answered; missing: {', '.join(missing)}")
        return sorted(answers, key=lambda a: list(ReviewQuestion).index(a.question))


class PeerReviewReturn(_Envelope):
    """A peer review return, posted through intake by a partner organisation that serves the
    area (the site). ``occurred_at`` is when the return was made; ``data.reviewed_on`` the visit."""

    type: Literal["uk.nhs.commissioning.peer-review.v1"] = PEER_REVIEW_TYPE
    data: PeerReviewData

    @model_validator(mode="after")
    def _reviewed_before_returned(self) -> "PeerReviewReturn":
        if self.data.reviewed_on > self.occurred_at.date():
            raise ValueError("data.reviewed_on is after occurred_at: the return follows the review")
        return self


def recommendation_id(review_id: UUID, index: int) -> UUID:
    """The id of the ``index``-th recommendation of a return: derived, so a replay opens the same."""
    return uuid5(review_id, f"recommendation/{index}")


class MappedPeerReview(_Mapped):
    """A peer review return with its place in the commissioning cycle and the rules that put it there."""

    event: PeerReviewReturn
    stages: list[Stage]
    competencies: list[Competency]
    rule_ids: list[str]
    rules_version: str
    mapped_at: AwareDatetime


#: A return for the OpenAPI docs: Somerset's rural site and its "celebration of festivals"
#: project (001:121, "Within Somerset a “celebration of festivals” project was devised").
EXAMPLE = {
    "event_id": "5d0b3f0e-7c41-4a4e-9b2f-0c6e1d8a9f21",
    "source": "somerset-vcse-alliance",
    "occurred_at": "2026-11-20T12:00:00+00:00",
    "area": "SOM",
    "region": "south_west",
    "type": PEER_REVIEW_TYPE,
    "data": {
        "reviewed_on": "2026-11-12",
        "site_name": "Somerset Focused Implementation Site",
        "panel": {"service_user": 1, "carer": 1, "fis_project_manager": 1, "race_equality_lead": 1},
        "answers": [
            {
                "question": "done_well",
                "rating": 3,
                "answer": "The celebration of festivals project brought acute ward staff and faith groups together.",
            },
            {
                "question": "good_practice",
                "rating": 3,
                "answer": "Festival calendars on the wards, written with local faith leaders.",
            },
            {
                "question": "improve_effectiveness",
                "rating": 2,
                "answer": "Front line staff still fear engaging with religious diversity; training is needed.",
            },
            {
                "question": "main_challenges",
                "rating": 2,
                "answer": "A rural area with small, scattered BME communities and few CDWs.",
            },
            {
                "question": "support_mechanisms",
                "rating": 2,
                "answer": "Regional support to link the spirituality pilot with the wards.",
            },
        ],
        "recommendations": [
            {
                "recommendation": (
                    "Train acute ward staff in meeting spiritual and faith needs, with local faith leaders."
                ),
                "community": "bme_communities_generally",
                "theme": "cultural_appropriateness",
                "service": "Acute inpatient care",
            },
        ],
    },
}

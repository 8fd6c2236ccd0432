"""The mapping rule set: data validated at load, never if-chains in code.

A rule names its evidence in the seeds (``cites``: seed lines with a verbatim quote, or a local
default with its reason where no seed supports it) and says why it routes as it does, so a
commissioner can check the routing against the documents they know.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from contracts.citations import Citations, SeedRef
from contracts.funding import FlowKind
from contracts.peer_review import ReviewQuestion
from contracts.taxonomy import CDWRole, Competency, Destination, Plan, Stage
from contracts.vocabulary import Indicator, ProviderSector, Theme

DEFAULT_RULES = Path(__file__).resolve().parents[1] / "rules" / "ruleset.yaml"


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z_]+\.[a-z0-9_]+$")
    why: str = Field(min_length=10)
    cites: Citations
    plans: tuple[Plan, ...] = ()
    destinations: tuple[Destination, ...] = ()

    @property
    def seed_refs(self) -> tuple[SeedRef, ...]:
        return tuple(c for c in self.cites if isinstance(c, SeedRef))


class PlacingRule(_Rule):
    """A rule that places what it matches in the cycle: its stages and competencies."""

    stages: tuple[Stage, ...] = Field(min_length=1)
    competencies: tuple[Competency, ...] = Field(min_length=1)


class ThemeRule(_Rule):
    theme: Theme
    cdw_roles: tuple[CDWRole, ...] = Field(min_length=1)


class IndicatorRule(PlacingRule):
    indicator: Indicator


class SectorRule(PlacingRule):
    sector: ProviderSector


class FundingRule(PlacingRule):
    """Where a funding flow of one kind sits in the commissioning cycle."""

    kind: FlowKind


class PeerReviewRule(PlacingRule):
    """Where a peer review return sits: by a question it answers, or (no question) every return."""

    question: ReviewQuestion | None = None


class RuleSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: str = Field(pattern=r"^\d{4}\.\d{1,2}\.\d+$")
    themes: tuple[ThemeRule, ...]
    indicators: tuple[IndicatorRule, ...]
    sectors: tuple[SectorRule, ...] = ()
    peer_reviews: tuple[PeerReviewRule, ...] = ()
    funding: tuple[FundingRule, ...] = ()

    @field_validator("themes", "indicators")
    @classmethod
    def _one_rule_each(cls, rules, info: ValidationInfo):
        """One rule per theme, one per indicator: the second names itself."""
        key = str(info.field_name).removesuffix("s")
        seen = set()
        for r in rules:
            if getattr(r, key) in seen:
                raise ValueError(f"{key} '{getattr(r, key).value}' has more than one rule ({r.id})")
            seen.add(getattr(r, key))
        return rules

    @model_validator(mode="after")
    def _unique_ids(self):
        ids = [r.id for r in (*self.themes, *self.indicators, *self.sectors, *self.peer_reviews, *self.funding)]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"rule ids used twice: {', '.join(dupes)}")
        return self

    def theme_rule(self, theme: Theme) -> ThemeRule | None:
        return next((r for r in self.themes if r.theme is theme), None)

    def indicator_rule(self, indicator: Indicator) -> IndicatorRule | None:
        return next((r for r in self.indicators if r.indicator is indicator), None)

    def sector_rule(self, sector: ProviderSector) -> SectorRule | None:
        return next((r for r in self.sectors if r.sector is sector), None)

    def funding_rule(self, kind: FlowKind) -> FundingRule | None:
        return next((r for r in self.funding if r.kind is kind), None)

    def peer_review_rules(self, question: ReviewQuestion | None) -> tuple[PeerReviewRule, ...]:
        return tuple(r for r in self.peer_reviews if r.question is question)


class RuleSetError(ValueError):
    """The rule file is refused; the message names the bad entry."""


def parse(text: str, origin: str = "<rules>") -> RuleSet:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RuleSetError(f"{origin}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise RuleSetError(f"{origin}: expected a mapping at the top level")
    try:
        return RuleSet.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = list(err["loc"])
            where = ".".join(str(p) for p in loc)
            # Name the entry by its id where we can: "themes[3] (theme.stigma)".
            if len(loc) >= 2 and loc[0] in ("themes", "indicators", "sectors", "funding") and isinstance(loc[1], int):
                entries = raw.get(loc[0]) or []
                rid = entries[loc[1]].get("id") if loc[1] < len(entries) and isinstance(entries[loc[1]], dict) else None
                where = (
                    f"{loc[0]}[{loc[1]}]"
                    + (f" ({rid})" if rid else "")
                    + ("." + ".".join(str(p) for p in loc[2:]) if loc[2:] else "")
                )
            problems.append(f"{where}: {err['msg']}")
        raise RuleSetError(f"{origin}: rule set refused: " + "; ".join(problems)) from exc


def load(path: Path = DEFAULT_RULES) -> RuleSet:
    return parse(path.read_text(), str(path))

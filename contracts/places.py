"""Regions and commissioning areas used by the platform (001:4; 003:155-223).

Area codes are the platform's own short codes for a commissioning area (a PCT cluster then,
an ICB or place now). Intake refuses an event whose area is unknown or whose region does not
contain it, so dashboards never show a stray area.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Region(str, Enum):
    LONDON = "london"
    WEST_MIDLANDS = "west_midlands"
    EAST_MIDLANDS = "east_midlands"
    EAST_OF_ENGLAND = "east_of_england"
    SOUTH_CENTRAL = "south_central"
    SOUTH_EAST_COAST = "south_east_coast"
    SOUTH_WEST = "south_west"
    YORKSHIRE_AND_HUMBER = "yorkshire_and_humber"
    NORTH_WEST = "north_west"
    NORTH_EAST = "north_east"

    @property
    def title(self) -> str:  # type: ignore[override]  # a display title, shadowing str.title on purpose
        return self.value.replace("_", " ").title().replace(" And ", " and ").replace(" Of ", " of ")


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    region: Region


AREAS: dict[str, Area] = {
    a.code: a
    for a in (
        Area("BSOL", "Birmingham and Solihull", Region.WEST_MIDLANDS),
        Area("BLKC", "Black Country", Region.WEST_MIDLANDS),
        Area("ARDN", "Arden", Region.WEST_MIDLANDS),
        Area("STAF", "Staffordshire", Region.WEST_MIDLANDS),
        Area("WMER", "West Mercia", Region.WEST_MIDLANDS),
        Area("ELON", "East London", Region.LONDON),
        Area("BEH", "Barnet, Enfield and Haringey", Region.LONDON),
        Area("NHAM", "Northamptonshire", Region.EAST_MIDLANDS),
        Area("CAMP", "Cambridgeshire and Peterborough", Region.EAST_OF_ENGLAND),
        Area("HAMP", "Hampshire", Region.SOUTH_CENTRAL),
        Area("KENT", "Kent and Medway", Region.SOUTH_EAST_COAST),
        Area("SOM", "Somerset", Region.SOUTH_WEST),
        Area("SHEF", "Sheffield", Region.YORKSHIRE_AND_HUMBER),
        Area("GMAN", "Greater Manchester", Region.NORTH_WEST),
        Area("EASI", "Easington (County Durham)", Region.NORTH_EAST),
    )
}


def areas_in(region: Region) -> list[Area]:
    return [a for a in AREAS.values() if a.region is region]

"""Contracts of the commissioning signals platform: event models, taxonomy, vocabularies, topics.

Every service imports these; none writes its own copy.
"""

from .events import (
    SCHEMA_VERSION,
    Alert,
    AlertRule,
    AlertSeverity,
    AlertStatus,
    CommunityEngagementFinding,
    DeadLetter,
    FindingData,
    MappedEvent,
    PartnerEvent,
    PerformanceData,
    ProviderPerformanceEvent,
    partner_event_adapter,
)
from .places import AREAS, Area, Region
from .citations import LocalDefault, SeedRef
from .taxonomy import CDW_ROLES, CDWRole, Competency, Destination, Plan, Stage, competency_named, taxonomy_document
from .topics import ALL_TOPICS, ALERTS, DEADLETTER, FINDINGS, MAPPED, PERFORMANCE, TopicSpec
from .vocabulary import (
    INDICATORS,
    UNMET_NEED_THEMES,
    Community,
    FindingSource,
    Indicator,
    ProviderSector,
    Severity,
    Theme,
    Unit,
)

__all__ = [
    "SCHEMA_VERSION",
    "Alert",
    "AlertRule",
    "AlertSeverity",
    "AlertStatus",
    "CommunityEngagementFinding",
    "DeadLetter",
    "FindingData",
    "MappedEvent",
    "PartnerEvent",
    "PerformanceData",
    "ProviderPerformanceEvent",
    "partner_event_adapter",
    "AREAS",
    "Area",
    "Region",
    "LocalDefault",
    "SeedRef",
    "CDW_ROLES",
    "CDWRole",
    "Competency",
    "Destination",
    "Plan",
    "Stage",
    "competency_named",
    "taxonomy_document",
    "ALL_TOPICS",
    "ALERTS",
    "DEADLETTER",
    "FINDINGS",
    "MAPPED",
    "PERFORMANCE",
    "TopicSpec",
    "INDICATORS",
    "UNMET_NEED_THEMES",
    "Community",
    "FindingSource",
    "Indicator",
    "ProviderSector",
    "Severity",
    "Theme",
    "Unit",
]

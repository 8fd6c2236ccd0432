"""Fixtures of the fault tests: partner keys for the load, and a stack put back whole after each.

The fault tests share the session's stack (tests/conftest.py) with every other test, so each
one leaves Kafka, PostgreSQL and the six services running and ready, whatever it broke.
"""

from __future__ import annotations

import pytest

from tests.conftest import create_key, run

from .load import Partner, provider_id

#: The organisations the load posts as (each with its own partner key).
LOAD_PARTNERS = ("east-cdw-network", "south-vcse-alliance", "london-mh-trust")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "faults: breaks Kafka, PostgreSQL, a worker or a webhook receiver under a load of "
        "20,000 events and checks the books (slow; real processes, loopback only)",
    )


def pytest_terminal_summary(terminalreporter) -> None:
    """The ledgers of this session's fault scenarios, whatever pytest captured."""
    from .harness import ARTIFACTS, LEDGERS

    if not LEDGERS:
        return
    terminalreporter.section("fault ledgers")
    for ledger in LEDGERS:
        terminalreporter.write_line(ledger.table())
    terminalreporter.write_line(f"(JSON in {ARTIFACTS})")


def restore_stack() -> None:
    """Start whatever is not running (each script leaves running parts alone) and wait until ready."""
    run("postgres.sh", "start", timeout=120)
    run("kafka.sh", "start", timeout=180)
    run("services.sh", "start", timeout=300)


@pytest.fixture
def whole_stack(stack):
    """The stack running before the test, and running again after it, whatever the test broke."""
    restore_stack()
    yield stack
    restore_stack()


@pytest.fixture(scope="session")
def load_partners(stack) -> list[Partner]:
    """The load's partners, each registered for what the load posts as it: every area under load,
    and that area's provider (load.plan spreads each partner's events over all of them)."""
    from .harness import AREAS_UNDER_LOAD

    areas = ",".join(AREAS_UNDER_LOAD)
    providers = ",".join(provider_id(a) for a in AREAS_UNDER_LOAD)
    return [
        Partner(
            org,
            create_key(org, "partner", areas=areas, provider_ids=providers, name=org.replace("-", " ").title())[
                "api_key"
            ],
        )
        for org in LOAD_PARTNERS
    ]

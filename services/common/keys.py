"""Create, list and revoke API keys; register organisations.

    python -m services.common.keys create --org pattigift --role partner --areas BSOL [--provider-ids ...]
    python -m services.common.keys create --org bsol-icb --role commissioner --areas BSOL,BLKC
    python -m services.common.keys list
    python -m services.common.keys revoke KEY_ID
    python -m services.common.keys org list
    python -m services.common.keys org show somerset-vcse-alliance
    python -m services.common.keys org set somerset-vcse-alliance --areas SOM --kind vcse_provider \
        [--name NAME] [--provider-ids a,b] [--members member-a,member-b]
    python -m services.common.keys org add somerset-vcse-alliance [--areas ...] [--provider-ids ...]
    python -m services.common.keys org add-member somerset-vcse-alliance mind-in-somerset
    python -m services.common.keys org remove-member somerset-vcse-alliance mind-in-somerset

The full key is printed once, at creation; only its SHA-256 is stored. For a partner, --areas are
the areas its organisation serves and --provider-ids the providers it reports for besides itself,
both added to what the organisation registry holds (services.common.organisations); a partner
whose organisation serves no area has every post refused. For a commissioner, --areas are the
areas its key may read. `org set` replaces the fields it is given; `org add` adds to them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys

from contracts.places import AREAS
from contracts.vocabulary import OrganisationKind
from services.common.auth import KeyStore, Role
from services.common.db import create_pool
from services.common.migrate import SchemaNotCurrent, require_current
from services.common.organisations import Registration, Registry, UnknownOrganisations
from services.common.settings import CommonSettings

#: An organisation's id or a provider id (contracts.events.Slug, and the organisations table's check).
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")


class Refused(Exception):
    """A command-line value the registry cannot take; printed, exit status 2."""


def _list(value: str | None) -> list[str] | None:
    return None if value is None else [v.strip() for v in value.split(",") if v.strip()]


def _areas(value: str | None) -> list[str] | None:
    areas = _list(value)
    unknown = [a for a in areas or [] if a not in AREAS]
    if unknown:
        raise Refused(f"unknown area code(s): {', '.join(unknown)}; known: {', '.join(AREAS)}")
    return areas


def _slugs(value: str | None, what: str) -> list[str] | None:
    slugs = _list(value)
    bad = [s for s in slugs or [] if not SLUG.fullmatch(s)]
    if bad:
        raise Refused(f"not {what} (lower-case letters, digits and '-'): {', '.join(bad)}")
    return slugs


async def run(args: argparse.Namespace) -> int:
    try:
        areas = _areas(getattr(args, "areas", None))
        provider_ids = _slugs(getattr(args, "provider_ids", None), "provider ids")
        members = _slugs(getattr(args, "members", None), "organisation ids")
        for name in ("org", "id", "lead", "member"):
            _slugs(getattr(args, name, None), "an organisation id")
    except Refused as exc:
        print(exc, file=sys.stderr)
        return 2
    dsn = CommonSettings().pg_dsn
    try:
        await require_current(dsn, wait_seconds=10)
    except SchemaNotCurrent as exc:
        print(exc, file=sys.stderr)
        return 1
    pool = await create_pool(dsn, 1, 2, schema="registry", attempts=5)
    store = KeyStore(pool, cache_seconds=0)
    registry = Registry(pool, cache_seconds=0)
    try:
        if args.cmd == "org":
            return await org(args, registry, areas, provider_ids, members)
        if args.cmd == "create":
            partner = args.role == Role.PARTNER.value
            # A partner's areas belong to its organisation (the registry), not to its key.
            key_id, token = await store.create(
                args.org, Role(args.role), [] if partner else areas or [], args.label, args.name, args.kind
            )
            if partner:
                served = await registry.add(args.org, areas=areas or [], provider_ids=provider_ids or [])
                if not served.areas:
                    print(
                        f"warning: {args.org} serves no area yet, so every post is refused; "
                        f"register with: org add {args.org} --areas ...",
                        file=sys.stderr,
                    )
            print(
                json.dumps(
                    {
                        "key_id": key_id,
                        "organisation": args.org,
                        "role": args.role,
                        "areas": areas or [],
                        "api_key": token,
                    }
                )
                if args.json
                else f"key_id {key_id} for {args.org} ({args.role})\nAPI key (shown once): {token}"
            )
        elif args.cmd == "list":
            for r in await store.list():
                state = "revoked" if r["revoked_at"] else "active"
                print(
                    f"{r['key_id']}  {r['organisation_id']:<28} {r['role']:<12} {state:<8} "
                    f"areas={','.join(r['areas']) or '-'}  created={r['created_at']:%Y-%m-%d}"
                )
        elif args.cmd == "revoke":
            if not await store.revoke(args.key_id):
                print(f"no active key {args.key_id}", file=sys.stderr)
                return 1
            print(f"revoked {args.key_id}")
        return 0
    finally:
        await pool.close()


async def org(
    args: argparse.Namespace,
    registry: Registry,
    areas: list[str] | None,
    provider_ids: list[str] | None,
    members: list[str] | None,
) -> int:
    """The registry's subcommands; each prints the organisation's registration as JSON."""
    if args.org_cmd == "list":
        for r in await registry.all():
            print(
                f"{r.organisation_id:<30} {r.kind:<30} areas={','.join(sorted(r.areas)) or '-'} "
                f"reports_for={','.join(sorted(r.reports_for))}"
                + (f" members={','.join(sorted(r.members))}" if r.members else "")
            )
        return 0
    found: Registration | None
    try:
        if args.org_cmd == "set":
            found = await registry.register(
                args.id, name=args.name, kind=args.kind, areas=areas, provider_ids=provider_ids, members=members
            )
        elif args.org_cmd == "add":
            found = await registry.add(args.id, areas=areas or [], provider_ids=provider_ids or [])
        elif args.org_cmd == "add-member":
            found = await registry.add(args.lead, members=[args.member])
        elif args.org_cmd == "remove-member":
            if not await registry.remove_member(args.lead, args.member):
                print(f"{args.member} is not a member of {args.lead}", file=sys.stderr)
                return 1
            found = await registry.of(args.lead)
        else:
            found = await registry.of(args.id)
    except (UnknownOrganisations, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 1
    if found is None:
        print(f"no organisation {getattr(args, 'id', None) or args.lead}", file=sys.stderr)
        return 1
    print(json.dumps(found.as_dict()))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m services.common.keys", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    kinds = [k.value for k in OrganisationKind]
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("create", help="issue a key (printed once)")
    c.add_argument("--org", required=True)
    c.add_argument("--role", required=True, choices=[r.value for r in Role])
    c.add_argument(
        "--areas",
        help="comma-separated area codes: a commissioner's key reads them, a partner's organisation serves them",
    )
    c.add_argument("--provider-ids", help="a partner: comma-separated provider ids it reports for")
    c.add_argument("--name", help="organisation display name")
    c.add_argument("--kind", default="vcse_provider", choices=kinds)
    c.add_argument("--label", default="")
    c.add_argument("--json", action="store_true")
    sub.add_parser("list", help="every key, without secrets")
    r = sub.add_parser("revoke", help="revoke a key")
    r.add_argument("key_id")
    o = sub.add_parser("org", help="the organisation registry")
    osub = o.add_subparsers(dest="org_cmd", required=True)
    osub.add_parser("list", help="every organisation, its areas and whom it reports for")
    osub.add_parser("show", help="one organisation's registration").add_argument("id")
    s = osub.add_parser("set", help="register or update an organisation (replaces the fields given)")
    s.add_argument("id")
    s.add_argument("--name")
    s.add_argument("--kind", choices=kinds)
    s.add_argument("--areas", help="comma-separated areas it serves")
    s.add_argument("--provider-ids", help="comma-separated provider ids it reports for besides itself")
    s.add_argument("--members", help="an alliance lead's comma-separated member organisations")
    a = osub.add_parser("add", help="add areas or provider ids to a registered organisation")
    a.add_argument("id")
    a.add_argument("--areas", help="comma-separated areas it also serves")
    a.add_argument("--provider-ids", help="comma-separated provider ids it also reports for")
    for name, text in (
        ("add-member", "make an organisation a member of an alliance lead"),
        ("remove-member", "end an organisation's membership of an alliance lead"),
    ):
        m = osub.add_parser(name, help=text)
        m.add_argument("lead")
        m.add_argument("member")
    return asyncio.run(run(p.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())

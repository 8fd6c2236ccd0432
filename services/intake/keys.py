"""Create, list and revoke API keys; register organisations.

    python -m services.intake.keys create --org pattigift --role partner --areas BSOL [--provider-ids ...]
    python -m services.intake.keys create --org bsol-icb --role commissioner --areas BSOL,BLKC
    python -m services.intake.keys list
    python -m services.intake.keys revoke KEY_ID
    python -m services.intake.keys org list
    python -m services.intake.keys org show somerset-vcse-alliance
    python -m services.intake.keys org set somerset-vcse-alliance --areas SOM --kind vcse_provider \
        [--provider-ids a,b] [--members member-a,member-b]

The full key is printed once, at creation; only its SHA-256 is stored. For a partner, --areas are
the areas its organisation serves and --provider-ids the providers it reports for (added to what
the registry holds); for a commissioner, --areas are the areas its key may read.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys

from contracts.places import AREAS
from services.common.db import create_pool
from services.common.migrate import migrate
from services.common.settings import CommonSettings

from services.common.auth import KeyStore, Role
from services.common.organisations import Registry


def _list(value: str | None) -> list[str] | None:
    return None if value is None else [v.strip() for v in value.split(",") if v.strip()]


async def run(args: argparse.Namespace) -> int:
    dsn = CommonSettings().pg_dsn
    await migrate(dsn, verbose=False)
    pool = await create_pool(dsn, 1, 2, attempts=5)
    store = KeyStore(pool, cache_seconds=0)
    registry = Registry(pool, cache_seconds=0)
    try:
        areas = _list(getattr(args, "areas", None)) or []
        unknown = [a for a in areas if a not in AREAS]
        if unknown:
            print(f"unknown area code(s): {', '.join(unknown)}; known: {', '.join(AREAS)}", file=sys.stderr)
            return 2
        if args.cmd == "org":
            return await org(args, registry, areas)
        if args.cmd == "create":
            key_id, token = await store.create(args.org, Role(args.role), areas, args.label,
                                               args.name, args.kind)
            if args.role == Role.PARTNER.value and (areas or args.provider_ids):
                held = await registry.of(args.org)
                await registry.register(
                    args.org, areas=sorted(set(held.areas if held else ()) | set(areas)),
                    provider_ids=sorted(set(held.provider_ids if held else ()) | set(_list(args.provider_ids) or [])))
            print(json.dumps({"key_id": key_id, "organisation": args.org, "role": args.role,
                              "areas": areas, "api_key": token}) if args.json else
                  f"key_id {key_id} for {args.org} ({args.role})\nAPI key (shown once): {token}")
        elif args.cmd == "list":
            for r in await store.list():
                state = "revoked" if r["revoked_at"] else "active"
                print(f"{r['key_id']}  {r['organisation_id']:<28} {r['role']:<12} {state:<8} "
                      f"areas={','.join(r['areas']) or '-'}  created={r['created_at']:%Y-%m-%d}")
        elif args.cmd == "revoke":
            if not await store.revoke(args.key_id):
                print(f"no active key {args.key_id}", file=sys.stderr)
                return 1
            print(f"revoked {args.key_id}")
        return 0
    finally:
        await pool.close()


async def org(args: argparse.Namespace, registry: Registry, areas: list[str]) -> int:
    if args.org_cmd == "list":
        for r in await registry.all():
            print(f"{r.organisation_id:<30} {r.kind:<30} areas={','.join(sorted(r.areas)) or '-'} "
                  f"reports_for={','.join(sorted(r.reports_for))}")
        return 0
    if args.org_cmd == "set":
        await registry.register(args.id, name=args.name, kind=args.kind,
                                areas=areas if args.areas is not None else None,
                                provider_ids=_list(args.provider_ids), members=_list(args.members))
    found = await registry.of(args.id)
    if found is None:
        print(f"no organisation {args.id}", file=sys.stderr)
        return 1
    print(json.dumps(found.as_dict()))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m services.intake.keys", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("create")
    c.add_argument("--org", required=True)
    c.add_argument("--role", required=True, choices=[r.value for r in Role])
    c.add_argument("--areas", help="comma-separated area codes: a commissioner's key reads them, "
                                   "a partner's organisation serves them")
    c.add_argument("--provider-ids", help="a partner: comma-separated provider ids it reports for")
    c.add_argument("--name", help="organisation display name")
    c.add_argument("--kind", default="vcse_provider")
    c.add_argument("--label", default="")
    c.add_argument("--json", action="store_true")
    sub.add_parser("list")
    o = sub.add_parser("org", help="the organisation registry")
    osub = o.add_subparsers(dest="org_cmd", required=True)
    osub.add_parser("list")
    osub.add_parser("show").add_argument("id")
    os_ = osub.add_parser("set")
    os_.add_argument("id")
    os_.add_argument("--name")
    os_.add_argument("--kind")
    os_.add_argument("--areas", help="comma-separated areas it serves (replaces the stored ones)")
    os_.add_argument("--provider-ids", help="comma-separated provider ids it reports for (replaces)")
    os_.add_argument("--members", help="an alliance lead's comma-separated member organisations (replaces)")
    r = sub.add_parser("revoke")
    r.add_argument("key_id")
    return asyncio.run(run(p.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())

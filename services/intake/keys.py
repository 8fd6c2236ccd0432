"""Create, list and revoke API keys.

    python -m services.intake.keys create --org pattigift --role partner [--name "..."] [--kind vcse_provider]
    python -m services.intake.keys create --org bsol-icb --role commissioner --areas BSOL,BLKC
    python -m services.intake.keys list
    python -m services.intake.keys revoke KEY_ID

The full key is printed once, at creation; only its SHA-256 is stored.
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


async def run(args: argparse.Namespace) -> int:
    dsn = CommonSettings().pg_dsn
    await migrate(dsn, verbose=False)
    pool = await create_pool(dsn, 1, 2, attempts=5)
    store = KeyStore(pool, cache_seconds=0)
    try:
        if args.cmd == "create":
            areas = [a for a in (args.areas or "").split(",") if a]
            unknown = [a for a in areas if a not in AREAS]
            if unknown:
                print(f"unknown area code(s): {', '.join(unknown)}; known: {', '.join(AREAS)}", file=sys.stderr)
                return 2
            key_id, token = await store.create(args.org, Role(args.role), areas, args.label,
                                               args.name, args.kind)
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m services.intake.keys", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("create")
    c.add_argument("--org", required=True)
    c.add_argument("--role", required=True, choices=[r.value for r in Role])
    c.add_argument("--areas", help="comma-separated area codes a commissioner may read")
    c.add_argument("--name", help="organisation display name")
    c.add_argument("--kind", default="vcse_provider")
    c.add_argument("--label", default="")
    c.add_argument("--json", action="store_true")
    sub.add_parser("list")
    r = sub.add_parser("revoke")
    r.add_argument("key_id")
    return asyncio.run(run(p.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())

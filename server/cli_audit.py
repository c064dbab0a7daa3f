"""``run.py audit verify`` and ``run.py audit export`` (the audit trail for auditors)."""

import argparse
import csv
import json
import sys
from typing import Any, TextIO

from server import audit_store
from server.audit_sinks import rfc3339
from server.auth import audit_chain
from server.cli_parsing import command, command_group, moment
from server.flows.account import username_key
from server.services import open_services
from server.settings import Settings
from server.store import get_user_by_key

EXPORT_FIELDS = ("time", *audit_store.AUDIT_FIELDS)


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """The ``audit`` command group of run.py (``common``: the global flags)."""
    audit = command_group(sub, "audit", "the audit trail", common)
    command(
        audit,
        "verify",
        "check the hash chain; report the first altered, inserted or deleted record",
        "python run.py audit verify",
        common=common,
    )
    export = command(
        audit,
        "export",
        "write audit records as CSV or JSON lines to standard output",
        "python run.py audit export --since 2026-11-01 --until 2026-12-01 --format csv > november.csv",
        common=common,
    )
    export.add_argument("--since", type=moment, help="from this UTC date or time (inclusive), e.g. 2026-12-01")
    export.add_argument("--until", type=moment, help="up to this UTC date or time (exclusive)")
    export.add_argument("--user", help="only the records of this account")
    export.add_argument("--format", choices=("csv", "jsonl"), default="csv")


async def run(settings: Settings, args: argparse.Namespace) -> int:
    async with open_services(settings) as svc:
        if args.action == "verify":
            head, records = await audit_store.audit_snapshot(svc.db)
            finding = audit_chain.verify(records, head)
            if finding is not None:
                print(f"Audit trail broken at record {finding.seq} ({finding.problem}): {finding.explanation}.")
                return 1
            last = records[-1]["hash"] if records else audit_chain.GENESIS
            print(f"Audit trail intact: {len(records)} record(s), last hash {last}.")
            return 0
        username = args.user
        if username is not None:
            user = await get_user_by_key(svc.db, username_key(username))
            username = user.username if user is not None else username
        rows = audit_store.audit_records(svc.db, args.since, args.until, username)
        out = sys.stdout
        count = 0
        if args.format == "csv":
            writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\n")
            writer.writeheader()
            async for row in rows:
                writer.writerow(_exported(row))
                count += 1
        else:
            async for row in rows:
                _json_line(out, row)
                count += 1
        print(f"Exported {count} record(s).", file=sys.stderr)
        return 0


def _exported(row: dict[str, Any]) -> dict[str, Any]:
    return {"time": rfc3339(float(row["at"])), **row}


def _json_line(out: TextIO, row: dict[str, Any]) -> None:
    out.write(json.dumps(_exported(row), ensure_ascii=False, separators=(",", ":")) + "\n")

"""``python -m bench``: start the real server, seed it in bulk, load it from separate processes, print the ratios.

Exits 1 only on errors (a server that fails, an unexpected answer, wrk missing); a missed
target is a FAIL in the table, not an error.
"""

import argparse
import secrets
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import argon2

from bench import BenchError, forward_auth, rows, scale, seed, storm, wrk
from bench.plan import FULL, QUICK
from bench.report import Row, machine, table, write_json
from bench.rows import PRODUCTION, Context
from server.auth.crypto import new_key_text
from tests import servers

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def arguments() -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="everything small, under a minute (the CI smoke test)")
    p.add_argument("--json", type=Path, help="where to write the results (default bench/results/<time>.json)")
    p.add_argument(
        "--postgres", action="store_true", help="require PostgreSQL for rows 4 and 7 (default: if reachable)"
    )
    p.add_argument("--database-url", help=f"PostgreSQL for rows 4 and 7 (default {DEFAULT_POSTGRES})")
    p.add_argument("--sqlite-only", action="store_true", help="rows 4 and 7 on SQLite only")
    return p.parse_args()


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def backends(args: argparse.Namespace) -> list[str]:
    url = args.database_url or DEFAULT_POSTGRES
    if args.sqlite_only:
        return ["SQLite"]
    if servers.postgres_reachable(url):
        return ["SQLite", "PostgreSQL"]
    if args.postgres or args.database_url:
        raise BenchError(f"PostgreSQL is not reachable at {url}")
    say(f"PostgreSQL is not reachable at {url}: rows 4 and 7 on SQLite only")
    return ["SQLite"]


def run(args: argparse.Namespace, tmp: Path) -> tuple[list[Row], str]:
    plan = QUICK if args.quick else FULL
    world = seed.World(salt=secrets.token_hex(8), totp_keys=new_key_text())
    password_hash = argon2.PasswordHasher(
        time_cost=PRODUCTION.argon2_time_cost,
        memory_cost=PRODUCTION.argon2_memory_kib,
        parallelism=PRODUCTION.argon2_parallelism,
        type=argon2.Type.ID,
    ).hash(seed.PASSWORD)
    data_dir = tmp / "main"
    data_dir.mkdir()
    path = data_dir / "mirox.sqlite3"
    env = servers.app_env(None, world.totp_keys, hashing={}, MIROX_DATA_DIR=str(data_dir))
    servers.run_cli("--database-url", f"sqlite:///{path}", "db", "upgrade", env=env)
    seed.seed_database(f"sqlite:///{path}", None, plan.main, world, password_hash, time.time())
    main = servers.start_server("main", ["--database-url", f"sqlite:///{path}"], env, tmp)
    main.wait_ready(timeout=60)
    stack = main.stack()
    say(f"main server up ({stack}, SQLite, {plan.main.users:,} users); warming up")
    results: list[Row] = []
    try:
        ctx = Context(plan=plan, world=world, server=main)
        rows.warm_up(ctx)
        for label, measure in (
            ("1: sign-ins at the hashing limit", rows.row_signin),
            ("2: page cost with wrk", rows.row_pages),
            ("6: Check 2FA, New Backup Codes, Disable", rows.row_actions),
            ("3: card latency during a sign-in storm", rows.row_storm),
            ("5: memory", rows.row_memory),
        ):
            say(f"row {label}")
            found = measure(ctx)
            results += found if isinstance(found, list) else [found]
        say("row 7: forward auth, SQLite")
        results += forward_auth.rows(ctx, "SQLite")
    finally:
        main.stop()
    postgres = args.database_url or DEFAULT_POSTGRES
    for backend in backends(args):
        if backend == "PostgreSQL":
            say("row 7: forward auth, PostgreSQL")
            with scale.seeded_server(backend, 0, world, password_hash, tmp, postgres, layout=plan.main) as server:
                pg = Context(plan=plan, world=world, server=server)
                pg.wrk_get(forward_auth.verify_target(pg), 1)  # warm-up
                results += forward_auth.rows(pg, backend)
        say(f"row 4: {backend}, {plan.scale_small:,} and {plan.scale_large:,} users")
        results += scale.row_scale(plan, backend, world, password_hash, tmp, postgres)
        say(f"row 8: {backend}, a sign-in flood from {plan.flood_in_flight} addresses")
        results += storm.row_flood(plan, backend, tmp, postgres)
    return sorted(results, key=lambda r: r.row), stack


def main() -> int:
    args = arguments()
    if not wrk.available():
        print("wrk is not installed (Debian package wrk)", file=sys.stderr)
        return 1
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="mirox-bench-"))
    try:
        results, stack = run(args, tmp)
    except (BenchError, AssertionError) as exc:  # AssertionError: from the servers' harness
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    elapsed = time.monotonic() - started
    meta: dict[str, Any] = {
        "mode": "quick" if args.quick else "full",
        "finished": datetime.now().isoformat(timespec="seconds"),
        "seconds": round(elapsed),
        "machine": machine(),
        "server": stack,
        "argon2": {
            "time_cost": PRODUCTION.argon2_time_cost,
            "memory_kib": PRODUCTION.argon2_memory_kib,
            "parallelism": PRODUCTION.argon2_parallelism,
            "hash_threads": PRODUCTION.hash_threads,
        },
    }
    print(table(results))
    target = args.json or RESULTS / f"{datetime.now():%Y%m%d-%H%M%S}.json"
    write_json(target, results, meta)
    if not args.quick and args.json is None:
        write_json(RESULTS / "last-full.json", results, meta)
    m = meta["machine"]
    print(f"\n{m['cpus']} CPUs ({m['cpu_model']}), Python {m['python']}, {stack}; {elapsed:.0f} s; {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

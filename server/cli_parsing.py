"""How run.py's commands are declared: each takes the global flags and shows how it is used."""

import argparse
from datetime import UTC, datetime
from typing import Any

EXAMPLES = argparse.RawDescriptionHelpFormatter


def command(
    parent: Any,
    name: str,
    help: str,
    *examples: str,
    common: argparse.ArgumentParser,
    description: str | None = None,
) -> argparse.ArgumentParser:
    """Add command ``name`` under ``parent`` (a subparsers object) with the global flags and its examples."""
    label = "example" if len(examples) == 1 else "examples"
    return parent.add_parser(  # type: ignore[no-any-return]
        name,
        parents=[common],
        help=help,
        description=description,
        epilog=f"{label}:\n" + "\n".join(f"  {example}" for example in examples),
        formatter_class=EXAMPLES,
    )


def command_group(sub: Any, name: str, help: str, common: argparse.ArgumentParser) -> Any:
    """Add a group of commands (``run.py NAME ACTION``); its chosen action lands in ``args.action``."""
    return sub.add_parser(name, help=help, parents=[common]).add_subparsers(dest="action", required=True)


def moment(text: str) -> float:
    """A date or date-time in ISO 8601 (UTC unless it says otherwise) as Unix seconds."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date such as 2026-12-01 or 2026-12-01T06:00Z") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()

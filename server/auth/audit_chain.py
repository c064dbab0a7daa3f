"""Tamper evidence for the audit trail: a hash chain over the stored records.

Each record's hash covers its content and the hash of the record before it, and a
one-row head keeps the number and hash of the last record. Changing a record breaks
its own hash; deleting one breaks the link of the next (or the head); adding one
breaks a link, the head, or the numbering. Pure functions: nothing here touches a database.
"""

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64
"""The "previous hash" of the first record."""

HASHED_FIELDS = ("seq", "at", "kind", "outcome", "factor", "username", "actor", "ip", "device", "detail")
"""What a record's hash covers (the user id is a link for the app, the username is the audit identity)."""


def canonical(record: Mapping[str, Any]) -> bytes:
    """The bytes that are hashed: the hashed fields as compact JSON with sorted keys."""
    content = {name: record.get(name) for name in HASHED_FIELDS}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link_hash(previous: str, record: Mapping[str, Any]) -> str:
    """The SHA-256 hex digest of the previous hash and this record's content."""
    return hashlib.sha256(previous.encode("ascii") + b"\n" + canonical(record)).hexdigest()


@dataclass(frozen=True)
class Finding:
    """The first place where the stored chain is not what was written."""

    seq: int
    problem: str
    """"altered", "deleted" or "inserted"."""
    explanation: str


def _linked(record: Mapping[str, Any], previous: str) -> bool:
    return bool(record["prev_hash"] == previous)


def verify(records: Sequence[Mapping[str, Any]], head: tuple[int, str] | None) -> Finding | None:
    """Check ``records`` (ordered by ``seq``) against each other and the head (last seq, last hash).

    Returns None when the chain is intact, else the first finding.
    """
    previous_hash, previous_seq = GENESIS, 0
    before_previous: str | None = None
    for index, record in enumerate(records):
        seq = int(record["seq"])
        beyond_head = head is not None and seq > head[0]
        if before_previous is not None and _linked(record, before_previous):
            return Finding(previous_seq, "inserted", f"record {seq} links past record {previous_seq}")
        if link_hash(str(record["prev_hash"]), record) != record["hash"]:
            if beyond_head:
                return Finding(seq, "inserted", f"record {seq} follows the last record written ({head and head[0]})")
            return Finding(seq, "altered", f"record {seq} does not match its hash")
        if _linked(record, previous_hash) and seq == previous_seq + 1:
            before_previous, previous_hash, previous_seq = previous_hash, str(record["hash"]), seq
            continue
        following = records[index + 1] if index + 1 < len(records) else None
        if beyond_head or (following is not None and _linked(following, previous_hash)):
            return Finding(seq, "inserted", f"record {seq} was not written in this place of the chain")
        return Finding(seq, "deleted", f"one or more records before record {seq} are missing")
    if head is not None and (previous_seq, previous_hash) != head:
        if head[0] > previous_seq:
            return Finding(previous_seq + 1, "deleted", f"records {previous_seq + 1} to {head[0]} are missing")
        return Finding(head[0] + 1, "inserted", f"records after {head[0]} were not written by the app")
    return None

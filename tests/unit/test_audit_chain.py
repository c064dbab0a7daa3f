"""The hash chain of the audit trail and the RFC 5424 form of a record, as pure functions."""

import json

from server.audit_sinks import SinkError, json_line, parse_sink, rfc5424
from server.auth import audit_chain
from tests.syslog_receiver import parse


def chain(count: int) -> list[dict[str, object]]:
    records: list[dict[str, object]] = []
    previous = audit_chain.GENESIS
    for seq in range(1, count + 1):
        record: dict[str, object] = {
            "seq": seq,
            "at": 1_800_000_000.5 + seq,
            "kind": "signin",
            "outcome": "success",
            "factor": "totp",
            "username": "älice",
            "actor": "user",
            "ip": "192.0.2.1",
            "device": "Firefox on Linux",
            "detail": "{}",
        }
        digest = audit_chain.link_hash(previous, record)
        records.append({**record, "prev_hash": previous, "hash": digest})
        previous = digest
    return records


def test_an_untouched_chain_verifies():
    """Records as written, with the head naming the last, verify."""
    records = chain(4)
    assert audit_chain.verify(records, (4, str(records[-1]["hash"]))) is None
    assert audit_chain.verify([], (0, audit_chain.GENESIS)) is None


def test_the_hash_covers_every_field_it_names():
    """Changing any hashed field changes the hash."""
    record = chain(1)[0]
    original = audit_chain.link_hash(audit_chain.GENESIS, record)
    for name in audit_chain.HASHED_FIELDS:
        changed = {**record, name: "x"}
        assert audit_chain.link_hash(audit_chain.GENESIS, changed) != original, name


def test_a_swap_of_two_records_is_found():
    """Reordering two records breaks the links at the first of them."""
    records = chain(4)
    records[1], records[2] = records[2], records[1]
    finding = audit_chain.verify(records, (4, str(records[-1]["hash"])))
    assert finding is not None and finding.seq == 3


def test_syslog_values_escape_quotes_backslashes_and_brackets():
    """A username with '"', '\\' and ']' survives RFC 5424 structured data and parses back unchanged."""
    record = {**chain(1)[0], "username": 'a"b\\c]d'}
    message = parse(rfc5424(record, "plant-host", 4242))
    assert message.structured["mirox@32473"]["username"] == 'a"b\\c]d'
    assert message.pri == 10 * 8 + 5 and message.hostname == "plant-host" and message.procid == "4242"
    assert json.loads(message.message)["username"] == 'a"b\\c]d'


def test_a_failure_is_a_warning_and_a_success_a_notice():
    """Severity 4 (warning) for failures and throttling, 5 (notice) for successes; facility authpriv."""
    failed = parse(rfc5424({**chain(1)[0], "outcome": "failure"}, "h", 1))
    assert failed.pri == 84


def test_json_lines_show_the_detail_as_an_object():
    """The detail stored as JSON text is an object in the JSON line, next to an RFC 3339 time."""
    line = json.loads(json_line({**chain(1)[0], "detail": '{"wait":4}'}))
    assert line["detail"] == {"wait": 4} and line["time"] == "2027-01-15T08:00:01.500000Z"


def test_sink_settings_are_parsed_or_refused():
    """Every documented form parses; anything else is refused with the forms it accepts."""
    assert parse_sink("stderr") == ("stderr", None)
    assert parse_sink("file:/var/log/mirox.jsonl") == ("file", "/var/log/mirox.jsonl")
    assert parse_sink("syslog+udp://127.0.0.1:5514") == ("udp", ("127.0.0.1", 5514))
    assert parse_sink("syslog+tcp://logs.plant") == ("tcp", ("logs.plant", 514))
    assert parse_sink("syslog+unix:///dev/log") == ("unix", "/dev/log")
    for bad in ("syslog://x", "file:", "syslog+tcp://:99", "syslog+udp://h:notaport", "kafka://x"):
        try:
            parse_sink(bad)
        except SinkError:
            continue
        raise AssertionError(f"{bad} was accepted")


def test_a_local_syslog_socket_receives_rfc_5424_datagrams(tmp_path):
    """syslog+unix:// sends each record as one datagram to the local socket (as /dev/log takes them)."""
    import socket

    from server.audit_sinks import open_sink

    path = tmp_path / "log"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(path))
        server.settimeout(5)
        sink = open_sink(f"syslog+unix://{path}")
        sink.emit(chain(1)[0])
        sink.close()
        message = parse(server.recv(65536))
    assert message.msgid == "signin" and message.structured["mirox@32473"]["seq"] == "1"

"""Where audit records are streamed besides the database: standard error, a file, or syslog.

``MIROX_AUDIT_SINK`` picks one: ``stderr`` (JSON lines, the default), ``file:/path`` (JSON
lines appended), ``syslog+udp://host:port``, ``syslog+tcp://host:port`` (RFC 6587 octet
counting) or ``syslog+unix:///dev/log``, each record an RFC 5424 message. A record that cannot
be sent is reported on the ``mirox`` logger and dropped: the database copy is the reference.
"""

import json
import logging
import os
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import urlsplit

logger = logging.getLogger("mirox")

FACILITY_AUTHPRIV = 10
SEVERITY_WARNING = 4
SEVERITY_NOTICE = 5
SD_ID = "mirox@32473"
"""Structured-data id: 32473 is the private enterprise number reserved for examples (RFC 5612)."""
SD_FIELDS = ("seq", "kind", "outcome", "factor", "username", "actor", "ip", "hash")
APP_NAME = "mirox"
UTF8_BOM = "\ufeff"
SEND_TIMEOUT = 2.0


class Sink(Protocol):
    def emit(self, record: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


def json_line(record: dict[str, Any]) -> str:
    """One record as a JSON object on one line, with its time in RFC 3339 as well."""
    shown = {"time": rfc3339(float(record["at"])), **record, "detail": json.loads(record.get("detail") or "{}")}
    return json.dumps(shown, ensure_ascii=False, separators=(",", ":"))


def rfc3339(at: float) -> str:
    """UTC time with microseconds, as RFC 5424 allows (at most six fraction digits)."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _printable(text: str, limit: int) -> str:
    """An RFC 5424 header field: printable US-ASCII without spaces, '-' when empty."""
    cleaned = "".join(c if 33 <= ord(c) <= 126 else "_" for c in text)[:limit]
    return cleaned or "-"


def _param_value(value: object) -> str:
    """An SD-PARAM value: UTF-8 with '"', '\\' and ']' escaped (RFC 5424 section 6.3.3)."""
    text = str(value)
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def rfc5424(record: dict[str, Any], hostname: str, pid: int) -> bytes:
    """One audit record as an RFC 5424 syslog message (facility authpriv)."""
    severity = SEVERITY_NOTICE if record.get("outcome") == "success" else SEVERITY_WARNING
    params = " ".join(
        f'{name}="{_param_value(record[name])}"' for name in SD_FIELDS if record.get(name) not in (None, "")
    )
    header = " ".join(
        (
            f"<{FACILITY_AUTHPRIV * 8 + severity}>1",
            rfc3339(float(record["at"])),
            _printable(hostname, 255),
            APP_NAME,
            _printable(str(pid), 128),
            _printable(str(record["kind"]), 32),
        )
    )
    return f"{header} [{SD_ID} {params}] {UTF8_BOM}{json_line(record)}".encode()


class StreamSink:
    """JSON lines to standard error, or appended to a file (opened once, flushed per record)."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._file: IO[str] = sys.stderr if path is None else path.open("a", encoding="utf-8")

    def emit(self, record: dict[str, Any]) -> None:
        self._file.write(json_line(record) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._path is not None:
            self._file.close()


class SyslogSink:
    """RFC 5424 records to a syslog receiver over UDP, TCP (octet counting) or a local socket."""

    def __init__(self, transport: str, address: str | tuple[str, int]) -> None:
        self._transport = transport
        self._address = address
        self._socket: socket.socket | None = None
        self._hostname = socket.gethostname()

    def _connect(self) -> socket.socket:
        if self._transport == "udp":
            assert isinstance(self._address, tuple)
            family = socket.AF_INET6 if ":" in self._address[0] else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_DGRAM)
        elif self._transport == "tcp":
            sock = socket.create_connection(self._address, timeout=SEND_TIMEOUT)  # type: ignore[arg-type]
        else:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.connect(self._address)
        sock.settimeout(SEND_TIMEOUT)
        return sock

    def emit(self, record: dict[str, Any]) -> None:
        message = rfc5424(record, self._hostname, os.getpid())
        for attempt in range(2):  # once more on a fresh connection if the receiver restarted
            try:
                if self._socket is None:
                    self._socket = self._connect()
                if self._transport == "udp":
                    self._socket.sendto(message, self._address)
                elif self._transport == "tcp":
                    self._socket.sendall(str(len(message)).encode() + b" " + message)
                else:
                    self._socket.send(message)
                return
            except OSError as exc:
                self.close()
                if attempt == 1:
                    logger.warning("audit record %s not sent to syslog (%s)", record.get("seq"), exc)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


class SinkError(ValueError):
    """MIROX_AUDIT_SINK names no sink this module knows."""


def parse_sink(spec: str) -> tuple[str, str | tuple[str, int] | None]:
    """(kind, address) of a sink setting, or SinkError; kinds: stderr, file, udp, tcp, unix."""
    if spec in ("", "stderr"):
        return "stderr", None
    if spec.startswith("file:"):
        path = spec.removeprefix("file:")
        if not path:
            raise SinkError("file: needs a path, e.g. file:/var/log/mirox/audit.jsonl")
        return "file", path
    parts = urlsplit(spec)
    if parts.scheme == "syslog+unix":
        if not parts.path:
            raise SinkError("syslog+unix:// needs a socket path, e.g. syslog+unix:///dev/log")
        return "unix", parts.path
    if parts.scheme in ("syslog+udp", "syslog+tcp"):
        try:
            port = parts.port or 514
        except ValueError as exc:
            raise SinkError(f"{spec!r} has an invalid port") from exc
        if not parts.hostname:
            raise SinkError(f"{spec!r} needs a host, e.g. syslog+udp://127.0.0.1:514")
        return parts.scheme.removeprefix("syslog+"), (parts.hostname, port)
    raise SinkError(f"{spec!r} is not stderr, file:/path, syslog+udp://, syslog+tcp:// or syslog+unix://")


def open_sink(spec: str) -> Sink:
    kind, address = parse_sink(spec)
    if kind == "stderr":
        return StreamSink()
    if kind == "file":
        assert isinstance(address, str)
        return StreamSink(Path(address))
    assert address is not None
    return SyslogSink(kind, address)

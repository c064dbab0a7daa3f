"""A syslog receiver on loopback (UDP datagrams, TCP with RFC 6587 octet counting) and an RFC 5424 parser."""

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

HEADER = re.compile(
    r"^<(?P<pri>\d{1,3})>(?P<version>[1-9]\d{0,2}) (?P<timestamp>\S+) (?P<hostname>[!-~]{1,255}) "
    r"(?P<app>[!-~]{1,48}) (?P<procid>[!-~]{1,128}) (?P<msgid>[!-~]{1,32}) "
)
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$")


@dataclass(frozen=True)
class SyslogMessage:
    pri: int
    timestamp: datetime
    hostname: str
    app: str
    procid: str
    msgid: str
    structured: dict[str, dict[str, str]]
    message: str


def _name(text: str, start: int, stops: str) -> tuple[str, int]:
    end = start
    while end < len(text) and text[end] not in stops:
        assert 33 <= ord(text[end]) <= 126 and text[end] not in '="]', f"bad name character {text[end]!r}"
        end += 1
    assert 1 <= end - start <= 32, "SD names are 1 to 32 characters"
    return text[start:end], end


def _structured(text: str, at: int) -> tuple[dict[str, dict[str, str]], int]:
    """Parse STRUCTURED-DATA (RFC 5424 section 6.3) from ``at``; return it and where it ends."""
    if text[at] == "-":
        return {}, at + 1
    elements: dict[str, dict[str, str]] = {}
    while at < len(text) and text[at] == "[":
        sd_id, at = _name(text, at + 1, " ]")
        params: dict[str, str] = {}
        while text[at] == " ":
            name, at = _name(text, at + 1, "=")
            assert text[at : at + 2] == '="', "a PARAM-VALUE is quoted"
            at += 2
            value = []
            while text[at] != '"':
                if text[at] == "\\" and text[at + 1] in '"\\]':
                    at += 1
                else:
                    assert text[at] != "]", "']' inside a value must be escaped"
                value.append(text[at])
                at += 1
            params[name] = "".join(value)
            at += 1
        assert text[at] == "]", "an SD-ELEMENT ends with ]"
        elements[sd_id] = params
        at += 1
    return elements, at


def parse(raw: bytes) -> SyslogMessage:
    """One RFC 5424 message, checked field by field (assertions name what is malformed)."""
    text = raw.decode("utf-8")
    header = HEADER.match(text)
    assert header, f"not an RFC 5424 header: {text[:120]!r}"
    assert header["version"] == "1"
    pri = int(header["pri"])
    assert 0 <= pri <= 191
    assert TIMESTAMP.match(header["timestamp"]), header["timestamp"]
    structured, at = _structured(text, header.end())
    message = ""
    if at < len(text):
        assert text[at] == " ", "MSG is separated by a space"
        message = text[at + 1 :]
        assert message.startswith("\ufeff"), "a UTF-8 MSG starts with the BOM"
        message = message[1:]
    return SyslogMessage(
        pri=pri,
        timestamp=datetime.fromisoformat(header["timestamp"]),
        hostname=header["hostname"],
        app=header["app"],
        procid=header["procid"],
        msgid=header["msgid"],
        structured=structured,
        message=message,
    )


class Received:
    """Raw messages a receiver got, in order."""

    def __init__(self) -> None:
        self.raw: list[bytes] = []
        self.changed = threading.Condition()

    def add(self, message: bytes) -> None:
        with self.changed:
            self.raw.append(message)
            self.changed.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[bytes]:
        with self.changed:
            self.changed.wait_for(lambda: len(self.raw) >= count, timeout)
            return list(self.raw)


def _octet_counted(conn: socket.socket, received: Received) -> None:
    """Read RFC 6587 frames: MSG-LEN SP SYSLOG-MSG, until the sender closes."""
    buffer = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            return
        buffer += chunk
        while b" " in buffer:
            length_text, _, rest = buffer.partition(b" ")
            assert length_text.isdigit() and not length_text.startswith(b"0"), f"bad frame length {length_text!r}"
            length = int(length_text)
            if len(rest) < length:
                break
            received.add(rest[:length])
            buffer = rest[length:]


@contextmanager
def receiver(transport: str) -> Iterator[tuple[int, Received]]:
    """A syslog receiver on a free loopback port: (port, what it received)."""
    received = Received()
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    server = socket.socket(socket.AF_INET, kind)
    server.bind(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        if transport == "tcp":
            server.listen()
        while not stop.is_set():
            try:
                if transport == "udp":
                    received.add(server.recv(65536))
                else:
                    conn, _ = server.accept()
                    conn.settimeout(None)
                    threading.Thread(target=_octet_counted, args=(conn, received), daemon=True).start()
            except TimeoutError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], received
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()

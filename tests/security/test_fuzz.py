"""Fuzzing every POST route: Hypothesis-made requests never get a 5xx, and change nothing without proof.

Every POST route of the route table (so a new route is fuzzed without touching this file) gets
bodies Hypothesis makes up: form fields with random and real names, repeated keys, empty, NUL,
100 KB values, lone surrogates and invalid UTF-8 escapes; raw bytes; multipart with files and
broken boundaries; JSON, text/plain, odd or missing content types. Path parameters are real ids
(this user's, another user's) or made up. Each goes out with or without the browser's valid CSRF
token (field or header), a wrong one, or a cross-site ``Origin``/``Sec-Fetch-Site``, half of them
as htmx, in four states: signed out, half signed in (password step done, code outstanding),
signed in without 2FA and signed in with 2FA.

Oracle, per request: status below 500, no error page or traceback in the body, redirects stay on
this site, 413 exactly when the body is over the limit; without a valid token the answer is a
refusal and only a session's last-seen time may change; with one, the database changes only as
``unexplained_changes`` allows (the fuzzer knows no password, code or backup code, so no account
changes, no session starts, sessions end only through the sign-out routes, and remembered browsers
are forgotten only through Forget, each the signed-in user's own).

How Hypothesis drives the async app: each test is an ordinary async test that builds its state
once with the fixtures; it then runs a Hypothesis ``@given`` function in a worker thread
(``asyncio.to_thread``), and each example sends its request on the test's own event loop with
``asyncio.run_coroutine_threadsafe(...).result()``. The loop is idle while it awaits the thread,
so the app, its database connections and the fake clock stay where the fixtures made them, and
Hypothesis sees a plain synchronous test: a failing input is shrunk and printed as the
"Falsifying example". Real ids and tokens are drawn as placeholders and resolved when the request
is sent, so a replayed example means the same thing after the state was rebuilt.

Size: ``MIROX_FUZZ_EXAMPLES`` examples per state (default 150, derandomized so CI runs are
reproducible; setting the variable also draws fresh random examples).
"""

import asyncio
import dataclasses
import enum
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from starlette.routing import Match, Route

from server.auth.tokens import token_hash
from server.flows import signin as signin_flow
from server.messages import message
from server.routes import routes
from server.services import Client, Services
from server.settings import Settings
from server.store import User, get_user_by_key
from server.tables import metadata
from server.web import Access
from tests.utils import (
    FakeClock,
    add_user,
    browser,
    csrf,
    db_snapshot,
    post,
    sign_in,
    signin_csrf,
    start_signin,
    user_with_two_factor,
    user_with_two_factor_signed_out,
)

EXAMPLES = int(os.environ.get("MIROX_FUZZ_EXAMPLES", "150"))
POST_ROUTES = [r for r in routes() if isinstance(r, Route) and r.methods and "POST" in r.methods]
ORIGIN = "http://testserver"
FUZZ_IP, OTHER_IP, VICTIM_IP = "10.0.0.20", "10.0.0.21", "10.0.0.22"
STATES = ("signed_out", "half_signed_in", "signed_in", "signed_in_2fa")
FIELD_NAMES = (
    "csrf_token",
    "username",
    "password",
    "code",
    "confirm",
    "token",
    "next",
    "then",
    "user_id",
    "user",
    "name",
    "credential",
    "confirmation",
)
FORM_KINDS = frozenset({"urlencoded", "raw_form", "multipart"})

# What a request the fuzzer makes may change, beyond nothing at all (see ``unexplained_changes``):
# without a valid CSRF token only the guard's idle-clock update of the session it presented;
# with one, also the counters a wrong password or code moves (the throttle table, a pending
# sign-in's attempts, failure rows in the activity log) and the session's one-shot notice.
REFUSED_COLUMNS = {"sessions": frozenset({"last_seen_at"})}
COUNTED_COLUMNS = {"sessions": frozenset({"last_seen_at", "notice"}), "pending_signins": frozenset({"attempts"})}
# audit_head is the audit trail's chain head: it moves with every row appended to security_events.
# key_challenges holds the security-key challenges the options routes issue (and any key route spends).
COUNTER_TABLES = frozenset({"throttle", "audit_head", "key_challenges"})
APPEND_ONLY_TABLES = frozenset({"security_events"})
# Routes whose only proof is the CSRF token: ending this user's sessions, dropping this browser's
# pending sign-in, opening an Enable dialog (a pending enrollment; the account does not change).
SESSION_ENDING = frozenset({"signout", "session_signout", "sessions_signout_others"})


class Placeholder(enum.Enum):
    """A value only known when the request is sent (ids and tokens change when a state is rebuilt)."""

    CSRF = "the browser's valid CSRF token"
    OTHER_CSRF = "another browser's valid CSRF token"
    SETUP_TOKEN = "the first-start link's token (spent)"
    CURRENT_SESSION = "this browser's session id"
    OWN_OTHER_SESSION = "the id of the same user's other session"
    VICTIM_SESSION = "another user's session id"
    OWN_ENROLLMENT = "this user's open enrollment id"
    VICTIM_ENROLLMENT = "another user's open enrollment id"
    OWN_DEVICE = "the id of one of this user's remembered browsers"
    VICTIM_DEVICE = "the id of another user's remembered browser"


Value = str | Placeholder


@dataclass(frozen=True)
class Part:
    """One multipart part: a field, or a file when it has a file name."""

    name: str
    value: Value
    filename: str | None
    content_type: str | None


@dataclass(frozen=True)
class Spec:
    """One request as Hypothesis draws it."""

    route: int
    params: tuple[Value, ...]
    quote_params: bool
    kind: str
    fields: tuple[tuple[str, Value] | bytes, ...] = ()
    parts: tuple[Part, ...] = ()
    raw: bytes = b""
    multipart_defect: str = ""
    content_type: str | None = None
    csrf_header: Value | None = None
    origin: str | None = None
    fetch_site: str | None = None
    htmx: bool = False
    padding: int = 0


# ---- strategies ---------------------------------------------------------------------------

huge = st.builds(
    lambda char, n: char * n,
    st.sampled_from(["a", "0", "\x00", "é", "%", "&", "\u202e", "<"]),
    st.sampled_from([257, 1025, 8 * 1024 + 1, 15 * 1024, 100 * 1024]),
)
huge_bytes = st.builds(
    lambda byte, n: byte * n, st.sampled_from([b"a", b"\xff", b"%", b"\x00"]), st.sampled_from([1025, 15 * 1024])
)
with_nul = st.builds(lambda a, b: f"{a}\x00{b}", st.text(max_size=8), st.text(max_size=8))
surrogates = st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3)
known_values = st.sampled_from(
    [
        "",
        " ",
        "alice",
        "ALICE ",
        "carol",
        "correct horse",
        "123456",
        "000000",
        "12345678",
        " 123 456 ",
        "ABCD-EFGH",
        "abcdefgh",
        "/profile",
        "//evil.example/",
        "/\t/evil.example",
        "https://evil.example/",
        "enable",
        "backup",
        "disable",
        "signout_others",
        "true",
        "1",
        "-1",
        "9" * 40,
        "<script>alert(1)</script>",
        '" hx-get="/signout" hx-trigger="load',
    ]
)
placeholders = st.sampled_from(list(Placeholder))
values: st.SearchStrategy[Value] = st.one_of(
    known_values, st.text(max_size=40), huge, with_nul, surrogates, placeholders, st.just(Placeholder.CSRF)
)
keys = st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=12), with_nul, surrogates)
raw_fragments = st.sampled_from(
    [
        b"%ff%fe",
        b"%",
        b"%zz",
        b"&&",
        b"=",
        b"==",
        b"+",
        b"%00",
        b"%ed%a0%80",
        b"code=%c3",
        b"\xff\xfe=\x80",
        b";",
        b"a=b=c",
    ]
)
form_fields = st.lists(st.one_of(st.tuples(keys, values), raw_fragments), max_size=12)
form_types = st.sampled_from(
    [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=latin-1",
        "Application/X-WWW-Form-URLEncoded",
    ]
)
other_types = st.sampled_from(
    [None, "application/json", "text/plain", "text/html", "application/octet-stream", "multipart/mixed", "x/\x7f", ""]
)
parts = st.lists(
    st.builds(
        Part,
        name=keys,
        value=values,
        filename=st.one_of(st.none(), st.sampled_from(["a.txt", "", "../../etc/passwd", 'x".png', "é\x00.bin"])),
        content_type=st.one_of(st.none(), st.sampled_from(["text/plain", "image/png", "application/json"])),
    ),
    max_size=6,
)
MULTIPART_DEFECTS = ("", "", "wrong_boundary", "no_boundary", "truncated", "no_end", "no_crlf")


def param_values(route: Route) -> st.SearchStrategy[tuple[Value, ...]]:
    """Real ids or made-up values for each path parameter of ``route``."""
    real = {
        "session_id": [Placeholder.CURRENT_SESSION, Placeholder.OWN_OTHER_SESSION, Placeholder.VICTIM_SESSION],
        "enrollment": [Placeholder.OWN_ENROLLMENT, Placeholder.VICTIM_ENROLLMENT],
        "device_id": [Placeholder.OWN_DEVICE, Placeholder.VICTIM_DEVICE],
    }
    long = st.builds(
        lambda char, n: char * n, st.sampled_from(["a", "9", "/", "%", "\x00"]), st.sampled_from([300, 8000])
    )
    made_up = st.one_of(st.integers(min_value=0, max_value=2**70).map(str), st.text(min_size=1, max_size=40), long)
    return st.tuples(*(st.one_of(st.sampled_from(real.get(name, ["x"])), made_up) for name in route.param_convertors))


def with_token(draw: st.DrawFn, items: list[Any], token: Any) -> tuple[Any, ...]:
    """``items`` with the valid CSRF token inserted somewhere (repeated keys may still override it)."""
    position = draw(st.integers(min_value=0, max_value=len(items)))
    return (*items[:position], token, *items[position:])


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    index = draw(st.integers(min_value=0, max_value=len(POST_ROUTES) - 1))
    kind = draw(st.sampled_from(["urlencoded", "urlencoded", "urlencoded", "raw_form", "multipart", "json", "other"]))
    token = draw(st.sampled_from(["field", "field", "header", "none", "wrong"]))
    wrong = st.one_of(placeholders, st.text(st.characters(codec="ascii"), max_size=50))
    common: dict[str, Any] = {
        "route": index,
        "params": draw(param_values(POST_ROUTES[index])),
        "quote_params": draw(st.booleans()),
        "kind": kind,
        "csrf_header": {"header": Placeholder.CSRF, "wrong": draw(wrong)}.get(token),
        "origin": draw(
            st.sampled_from([None, None, None, ORIGIN, "https://evil.example", "null", "http://testserver:81"])
        ),
        "fetch_site": draw(st.sampled_from([None, None, None, "same-origin", "none", "same-site", "cross-site"])),
        "htmx": draw(st.booleans()),
        "padding": draw(st.sampled_from([0, 0, 0, 0, 0, 0, 20_000, 100_000])),
    }
    pair = ("csrf_token", Placeholder.CSRF)
    if kind in ("urlencoded", "json"):
        fields = draw(form_fields if kind == "urlencoded" else st.lists(st.tuples(keys, values), max_size=6))
        if token == "field":
            fields = with_token(draw, fields, pair)
        content_type = draw(form_types) if kind == "urlencoded" else "application/json"
        return Spec(**common, fields=tuple(fields), content_type=content_type)
    if kind == "multipart":
        drawn = draw(parts)
        if token == "field":
            drawn = with_token(draw, drawn, Part(*pair, filename=None, content_type=None))
        return Spec(**common, parts=tuple(drawn), multipart_defect=draw(st.sampled_from(MULTIPART_DEFECTS)))
    raw = draw(st.one_of(st.binary(max_size=300), huge_bytes))
    return Spec(**common, raw=raw, content_type=draw(form_types if kind == "raw_form" else other_types))


# ---- the state a test fuzzes ------------------------------------------------------------


@dataclass
class World:
    """Everything the requests of one test refer to; rebuilt parts when a request legitimately ends them."""

    state: str
    svc: Services
    client: httpx.AsyncClient
    other: httpx.AsyncClient
    victim: httpx.AsyncClient
    setup_token: str
    user_id: int = 0
    cookies: dict[str, str] = field(default_factory=dict)
    snapshot: "Snapshot | None" = None  # the database after the last request, unless repaired since
    token: str = ""
    victim_token: str = ""

    @property
    def signed_in(self) -> bool:
        return self.state in ("signed_in", "signed_in_2fa")

    async def user(self) -> User:
        user = await get_user_by_key(self.svc.db, "alice")
        assert user is not None
        return user

    async def resume_session(self, client: httpx.AsyncClient, ip: str) -> None:
        """A fresh session for alice on ``client``, as after a completed sign-in."""
        session = (await signin_flow.begin_session(self.svc, await self.user(), Client(ip, "fuzz"))).token
        client.cookies.clear()
        client.cookies.set("mirox_session", session)

    async def resume_pending(self) -> None:
        """A fresh half-finished sign-in of alice on the fuzzing browser."""
        pending = await signin_flow.begin_second_factor(self.svc, await self.user(), Client(FUZZ_IP, "fuzz"))
        self.client.cookies.clear()
        self.client.cookies.set("mirox_pending", pending)

    async def remember(self) -> None:
        """Keep the fuzzing browser's cookies and valid CSRF token, to restore them after each request."""
        if self.signed_in:
            self.token = await csrf(self.client, "/profile")
        elif self.state == "half_signed_in":
            self.token = await signin_csrf(self.client)
        else:
            self.token = await csrf(self.client, "/signin")
        self.cookies = dict(self.client.cookies)

    def restore_cookies(self) -> None:
        self.client.cookies.clear()
        for name, value in self.cookies.items():
            self.client.cookies.set(name, value)

    def current(self, snapshot: "Snapshot", table: str) -> dict[str, Any] | None:
        """This browser's session or pending sign-in row, if it is still there."""
        base = "session" if table == "sessions" else "pending"
        value = self.cookies.get(f"mirox_{base}")
        if not value:
            return None
        digest = token_hash(value)
        return next((row for row in snapshot[table].values() if row["token_hash"] == digest), None)

    async def repair(self, snapshot: "Snapshot") -> bool:
        """Rebuild what a request was allowed to end (sign-out, cancel, five wrong codes); whether it did."""
        now = self.svc.clock()
        repaired = False
        if self.signed_in and self.current(snapshot, "sessions") is None:
            await self.resume_session(self.client, FUZZ_IP)
            await self.remember()
            repaired = True
        if self.signed_in and not any(
            row["ip"] == OTHER_IP and row["user_id"] == self.user_id for row in snapshot["sessions"].values()
        ):
            await self.resume_session(self.other, OTHER_IP)
            repaired = True
        pending = self.current(snapshot, "pending_signins")
        if self.state == "half_signed_in" and (
            pending is None
            or pending["expires_at"] <= now
            or pending["attempts"] >= self.svc.settings.pending_signin_attempts
        ):
            await self.resume_pending()
            await self.remember()
            repaired = True
        return repaired


Snapshot = dict[str, dict[tuple[Any, ...], dict[str, Any]]]


async def keyed_snapshot(svc: Services) -> Snapshot:
    """``db_snapshot`` with each row keyed by its primary key and its values by column name."""
    async with svc.db.connection():  # one connection for all tables (SQLite opens one per call otherwise)
        raw = await db_snapshot(svc)
    keyed: Snapshot = {}
    for table in metadata.sorted_tables:
        names = [c.name for c in table.c]
        key_columns = [c.name for c in table.primary_key.columns] or names
        rows = (dict(zip(names, values, strict=True)) for values in raw[table.name])
        keyed[table.name] = {tuple(row[k] for k in key_columns): row for row in rows}
    return keyed


async def build(state: str, svc: Services, clock: FakeClock, app: Any, announcements: list[str]) -> World:
    """Build ``state`` once with the usual helpers: alice fuzzes, carol is the other account."""
    world = World(
        state=state,
        svc=svc,
        client=browser(app, FUZZ_IP),
        other=browser(app, OTHER_IP),
        victim=browser(app, VICTIM_IP),
        setup_token=announcements[0].rsplit("token=", 1)[1],
    )
    await add_user(svc, "carol")
    assert (await sign_in(world.victim, "carol")).status_code == 303
    assert (await post(world.victim, "/profile/2fa/enable")).status_code == 303
    world.victim_token = await csrf(world.victim, "/profile")
    if state == "signed_out":
        await add_user(svc)
    elif state == "half_signed_in":
        await user_with_two_factor_signed_out(world.client, svc, clock)
        await start_signin(world.client)
    elif state == "signed_in":
        await add_user(svc)
        assert (await sign_in(world.client)).status_code == 303
    else:
        await user_with_two_factor(world.client, svc, clock)
    world.user_id = (await world.user()).id
    if world.signed_in:
        await world.resume_session(world.other, OTHER_IP)
    await world.remember()
    return world


# ---- turning a spec into a request ----------------------------------------------------------


def resolve(value: Value, world: World, before: Snapshot) -> str:
    """The real value behind a placeholder, as it is right now."""
    if not isinstance(value, Placeholder):
        return value
    session = world.current(before, "sessions")
    own = [r for r in before["sessions"].values() if r["user_id"] == world.user_id]
    enrollments = before["enrollments"].values()
    devices = before["devices"].values()
    found: dict[Placeholder, object] = {
        Placeholder.CSRF: world.token,
        Placeholder.OTHER_CSRF: world.victim_token,
        Placeholder.SETUP_TOKEN: world.setup_token,
        Placeholder.CURRENT_SESSION: session["id"] if session else None,
        Placeholder.OWN_OTHER_SESSION: next((r["id"] for r in own if r["ip"] == OTHER_IP), None),
        Placeholder.VICTIM_SESSION: next((r["id"] for r in before["sessions"].values() if r["ip"] == VICTIM_IP), None),
        Placeholder.OWN_ENROLLMENT: next((r["id"] for r in enrollments if r["user_id"] == world.user_id), None),
        Placeholder.VICTIM_ENROLLMENT: next((r["id"] for r in enrollments if r["user_id"] != world.user_id), None),
        Placeholder.OWN_DEVICE: next((r["id"] for r in devices if r["user_id"] == world.user_id), None),
        Placeholder.VICTIM_DEVICE: next((r["id"] for r in devices if r["user_id"] != world.user_id), None),
    }
    real = found[value]
    return "404" if real is None else str(real)


def encode(text: str) -> bytes:
    """Percent-encode like a browser form, lone surrogates as the (invalid) UTF-8 bytes they would be."""
    return quote_plus(text.encode("utf-8", "surrogatepass")).encode("ascii")


def multipart(spec: Spec, world: World, before: Snapshot) -> tuple[bytes, str]:
    boundary = "----mirox-fuzz-7d8c2a"
    chunks = []
    for part in spec.parts:
        disposition = f'form-data; name="{part.name}"'
        if part.filename is not None:
            disposition += f'; filename="{part.filename}"'
        head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
        if part.content_type:
            head += f"Content-Type: {part.content_type}\r\n"
        body = resolve(part.value, world, before).encode("utf-8", "surrogatepass")
        chunks.append(head.encode("utf-8", "surrogatepass") + b"\r\n" + body + b"\r\n")
    data = b"".join(chunks) + ("" if spec.multipart_defect == "no_end" else f"--{boundary}--\r\n").encode()
    content_type = f"multipart/form-data; boundary={boundary}"
    if spec.multipart_defect == "wrong_boundary":
        content_type = "multipart/form-data; boundary=not-the-one"
    elif spec.multipart_defect == "no_boundary":
        content_type = "multipart/form-data"
    elif spec.multipart_defect == "truncated":
        data = data[: len(data) // 2]
    elif spec.multipart_defect == "no_crlf":
        data = data.replace(b"\r\n", b"\n")
    return data, content_type


def body_of(spec: Spec, world: World, before: Snapshot) -> tuple[bytes, str | None]:
    """The body and content type of ``spec``, with its padding (to go over the body limit) at the end."""
    body, content_type = unpadded_body_of(spec, world, before)
    return body + b"&" * spec.padding, content_type


def unpadded_body_of(spec: Spec, world: World, before: Snapshot) -> tuple[bytes, str | None]:
    if spec.kind == "urlencoded":
        pieces = [
            item if isinstance(item, bytes) else encode(item[0]) + b"=" + encode(resolve(item[1], world, before))
            for item in spec.fields
        ]
        return b"&".join(pieces), spec.content_type
    if spec.kind == "multipart":
        return multipart(spec, world, before)
    if spec.kind == "json":
        data = {key: resolve(value, world, before) for key, value in spec.fields}
        return json.dumps(data).encode("utf-8", "surrogatepass"), spec.content_type
    return spec.raw, spec.content_type


def path_of(spec: Spec, world: World, before: Snapshot) -> str:
    route = POST_ROUTES[spec.route]
    path = route.path
    for name, value in zip(route.param_convertors, spec.params, strict=True):
        text = resolve(value, world, before).encode("utf-8", "surrogatepass")
        filled = quote(text, safe="") if spec.quote_params else quote(text, safe="/:@!$&'()*+,;=")
        path = re.sub(r"\{" + name + r"(:\w+)?\}", lambda _, filled=filled: filled, path)
    return path


def leads_away(route: Route, response: httpx.Response) -> bool:
    """A form of a pending sign-in this browser does not have: answered, before the CSRF check, by
    a redirect to sign-in (or home), which changes nothing (an expired sign-in is not an attack)."""
    rule = getattr(route, "rule", None)
    target = (response.headers.get("location") or response.headers.get("hx-redirect") or "").split("?")[0]
    return rule is not None and rule.access is Access.PENDING and target in ("/", "/signin")


def route_at(path: str) -> tuple[Route, dict[str, Any]] | None:
    """The POST route the app routes ``path`` (as decoded into the ASGI scope) to, and its parameters."""
    for route in POST_ROUTES:
        match, child = route.matches({"type": "http", "path": path, "root_path": "", "method": "POST"})
        if match is Match.FULL:
            return route, child["path_params"]
    return None


# ---- the oracle -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """What the oracle needs to know about a request that was sent."""

    route: str
    proven: bool
    path_id: str | None


def unexplained_changes(before: Snapshot, after: Snapshot, sent: Sent, world: World) -> list[str]:
    """Every database change the request could not justify (see the constants at the top)."""
    problems = []
    ended_sessions: set[object] = set()
    current = world.current(before, "sessions")
    pending = world.current(before, "pending_signins")
    for table in before:
        old, new = before[table], after[table]
        for key in new.keys() - old.keys():
            if not (sent.proven and table in COUNTER_TABLES | APPEND_ONLY_TABLES) and not (
                sent.proven
                and table == "enrollments"
                and sent.route == "enable_2fa"
                and new[key]["user_id"] == world.user_id
            ):
                problems.append(f"{table}: row {key} added")
        for key in old.keys() & new.keys():
            changed = {c for c in old[key] if old[key][c] != new[key][c]}
            allowed = (COUNTED_COLUMNS if sent.proven else REFUSED_COLUMNS).get(table, frozenset())
            if sent.proven and table in COUNTER_TABLES:
                allowed = frozenset(changed)
            if changed - allowed:
                problems.append(f"{table}: row {key} changed {sorted(changed - allowed)}")
        for key in old.keys() - new.keys():
            row = old[key]
            if table == "sessions" and sent.proven and sent.route in SESSION_ENDING and row["user_id"] == world.user_id:
                is_current = current is not None and row["id"] == current["id"]
                ok = {
                    "signout": is_current,
                    "session_signout": str(row["id"]) == sent.path_id,
                    "sessions_signout_others": not is_current,
                }[sent.route]
                if ok:
                    ended_sessions.add(row["id"])
                    continue
            if table == "pending_signins" and sent.proven and sent.route == "cancel_signin" and row == pending:
                continue
            forgotten = sent.route == "browsers_forget_others" or (
                sent.route == "browser_forget" and str(row["id"]) == sent.path_id
            )
            if table == "devices" and sent.proven and forgotten and row["user_id"] == world.user_id:
                continue
            if table in ("throttle", "key_challenges") and sent.proven:
                continue
            if table == "enrollments" and (
                row["session_id"] in ended_sessions
                or (sent.proven and sent.route == "enable_2fa" and row["user_id"] == world.user_id)
            ):
                continue
            problems.append(f"{table}: row {key} removed")
    return problems


def same_site(spec: Spec) -> bool:
    """Whether the browser-set headers let the request count as same-origin."""
    return spec.origin in (None, ORIGIN) and spec.fetch_site in (None, "same-origin", "none")


LEAKS = ("Traceback", "Internal Server Error", message("error.server"))


async def send(spec: Spec, world: World, clock: FakeClock) -> None:
    """Send one request and hold the app to the oracle."""
    clock.advance(0.1)  # past the tiny throttle delays of the ``settings`` below
    svc = world.svc
    before = world.snapshot or await keyed_snapshot(svc)
    world.snapshot = None  # kept only if this request passes
    path = path_of(spec, world, before)
    body, content_type = body_of(spec, world, before)
    headers = {} if content_type is None else {"Content-Type": content_type}
    if spec.csrf_header is not None:
        headers["X-CSRF-Token"] = resolve(spec.csrf_header, world, before)
    headers.update({k: v for k, v in (("Origin", spec.origin), ("Sec-Fetch-Site", spec.fetch_site)) if v is not None})
    if spec.htmx:
        headers["HX-Request"] = "true"
    world.restore_cookies()
    response = await world.client.post(path, content=body, headers=headers)

    routed = route_at(response.request.url.path)
    oversized = len(body) > svc.settings.max_body_bytes
    made_up_path = any(not isinstance(p, Placeholder) for p in spec.params)  # may hold NUL: 404 before CSRF
    token_sent = spec.csrf_header is Placeholder.CSRF or (spec.kind in FORM_KINDS and world.token.encode() in body)
    proven = token_sent and same_site(spec) and not oversized and routed is not None
    status = response.status_code
    context = f"{path[:80]!r} → {status}: {response.text[:300]!r}"
    assert status < 500, context
    assert not any(leak in response.text for leak in LEAKS), context
    assert (status == 413) == oversized, context
    if not proven:
        refusals = (
            {403, 413}
            | ({400} if spec.kind in FORM_KINDS else set())
            | ({404, 405} if routed is None or made_up_path else set())
            | ({200, 303} if routed is not None and leads_away(routed[0], response) else set())
        )
        assert status in refusals, context
    target = response.headers.get("location") or response.headers.get("hx-redirect")
    if target is not None:
        assert target.startswith("/") and not target.startswith("//") and "\\" not in target, context
    after = await keyed_snapshot(svc)
    name, params = (routed[0].name, routed[1]) if routed else ("", {})
    path_id = str(params.get("session_id", params.get("device_id")))
    problems = unexplained_changes(before, after, Sent(name, proven, path_id), world)
    assert not problems, (context, problems)
    world.snapshot = None if await world.repair(after) else after


# ---- the tests ------------------------------------------------------------------------------


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Throttle delays of a few hundredths of a second, so later inputs are still evaluated, not just 429;
    security keys offered (a public URL), so their routes run their checks rather than "unavailable"."""
    return dataclasses.replace(
        settings,
        public_url="http://localhost",
        throttle_base_delay=0.01,
        password_max_delay=0.05,
        address_max_delay=0.05,
        second_factor_max_delay=0.05,
    )


def run_examples(loop: asyncio.AbstractEventLoop, check: Callable[[Spec], Any]) -> None:
    """Run Hypothesis (in the calling worker thread); each example runs ``check`` on ``loop``."""

    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize="MIROX_FUZZ_EXAMPLES" not in os.environ,
        suppress_health_check=list(HealthCheck),
    )
    @given(specs())
    def example(spec: Spec) -> None:
        asyncio.run_coroutine_threadsafe(check(spec), loop).result(timeout=120)

    example()


RAN: dict[str, int] = {}  # inputs sent per state, for the one "fuzz:" figure once every state has passed


@pytest.mark.parametrize("state", STATES)
async def test_fuzzed_posts_never_fail_or_change_state_without_proof(
    state, app, svc, clock, announcements, figures
) -> None:
    """Hypothesis-made POSTs to every route: no 5xx, refusals without a token, no unproven change."""
    world = await build(state, svc, clock, app, announcements)
    sent = 0

    async def check(spec: Spec) -> None:
        nonlocal sent
        sent += 1
        await send(spec, world, clock)

    try:
        await asyncio.to_thread(run_examples, asyncio.get_running_loop(), check)
    finally:
        for c in (world.client, world.other, world.victim):
            await c.aclose()
    RAN[state] = sent  # only states whose run passed count towards the figure
    if RAN.keys() == set(STATES):
        figures(
            f"fuzz: {sum(RAN.values()):,} inputs over {len(POST_ROUTES)} POST routes x {len(STATES)} states, "
            "0 5xx, 0 unproven state changes"
        )

"""Every URL of the app, in one list, each with the access rule its guard enforces."""

from starlette.convertors import IntegerConvertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from server import metrics_http
from server.flows import readiness
from server.handlers import (
    backup_card,
    forward_auth,
    notices,
    password,
    policy,
    profile,
    reauth,
    remembered_browsers,
    security_keys,
    sessions,
    signin,
    two_factor,
)
from server.handlers.common import disable_allowed, two_factor_off, two_factor_on
from server.static import static_files
from server.web import Access, Endpoint, GuardedRoute, Precondition, Rule, services


def route(path: str, endpoint: Endpoint, name: str, rule: Access | Rule, methods: tuple[str, ...] = ("GET",)) -> Route:
    return GuardedRoute(path, endpoint, name, rule if isinstance(rule, Rule) else Rule(rule), methods)


async def healthz(request: Request) -> Response:
    """Liveness: the process answers (restart it when this fails)."""
    return PlainTextResponse("ok")


async def readyz(request: Request) -> Response:
    """Readiness for load balancers: 503 while the database or the keys cannot serve a sign-in."""
    problem = await readiness.problem(services(request))
    if problem is not None:
        return PlainTextResponse(f"not ready: {problem}", status_code=503, headers={"Retry-After": "5"})
    return PlainTextResponse("ready")


# A database id in a URL: Starlette's "int" takes any number of digits, and int() raises
# (a 500) past 4,300 of them; at most 10 digits (32-bit ids), so anything longer is a 404.
class DatabaseIdConvertor(IntegerConvertor):
    regex = "[0-9]{1,10}"


register_url_convertor("id", DatabaseIdConvertor())

USER, PENDING, PUBLIC = Access.USER, Access.PENDING, Access.PUBLIC
POST = ("POST",)

# Sensitive actions are fresh: the password within the last Settings.reauth_window, else the
# password prompt first. The enrollment steps are not: an enrollment exists only after a fresh
# Enable, for its session. Enable needs 2FA off ("already on" otherwise, before any prompt).
FRESH = Rule(USER, fresh=True)
ENABLE = Rule(USER, fresh=True, precondition=two_factor_off, while_overdue=True)
# What an account past its two-factor deadline may still reach: the setup (the Enable dialog and
# the password prompt it needs) and sign-out; the guard answers every other USER route with the setup.
SETUP = Rule(USER, while_overdue=True)
# Adding and removing a security key: the password within the window (after it, the Security keys
# section: the key's ceremony starts again), then a current second factor (the flow asks for it).
KEY_ACTION = Rule(USER, fresh=True, resume="security_keys")
# Adding a key is a way to meet the policy too: the setup page offers it to an overdue account
# (and its section, where Add continues after the password: on that page, for such an account).
KEY_SETUP = Rule(USER, fresh=True, resume="security_keys", while_overdue=True)
KEY_SECTION = Rule(USER, fresh=True, while_overdue=True)


def form(path: str, page: Endpoint, submit: Endpoint, name: str, access: Access) -> list[Route]:
    """A page with a form (GET ``name``) and the form's submit (POST ``name``_submit), one rule for both."""
    return [route(path, page, name, access), route(path, submit, f"{name}_submit", access, POST)]


def code_action(
    path: str, action: str, name: str, *, fresh: bool, precondition: Precondition = two_factor_on
) -> list[Route]:
    """A Security card action that needs a current code: its prompt (GET ``name``) and its submit
    (POST ``name``_submit). 2FA must be on ("2FA is off" otherwise, before any password prompt);
    after the password, a fresh submit reopens the prompt (the code is asked again)."""
    opens = Rule(USER, fresh=fresh, precondition=precondition)
    submits = Rule(USER, fresh=fresh, resume=name if fresh else None, precondition=precondition)
    return [
        GuardedRoute(path, two_factor.code_prompt(action, name), name, opens, ("GET",)),
        GuardedRoute(path, two_factor.code_submit(action, name), f"{name}_submit", submits, POST),
    ]


def routes() -> list[BaseRoute]:
    """The route table."""
    return [
        route("/", profile.home, "home", USER),
        *form("/signin", signin.signin_page, signin.signin_submit, "signin", PUBLIC),
        *form("/signin/two-factor", signin.two_factor_page, signin.two_factor_submit, "two_factor", PENDING),
        *form("/signin/backup-code", signin.backup_code_page, signin.backup_code_submit, "backup_code", PENDING),
        route("/signin/passkey/options", signin.passkey_options, "passkey_options", PUBLIC, POST),
        route("/signin/passkey", signin.passkey_submit, "passkey_signin", PUBLIC, POST),
        route("/signin/key/options", signin.key_options, "signin_key_options", PENDING, POST),
        route("/signin/key", signin.key_submit, "signin_key", PENDING, POST),
        route("/signin/cancel", signin.cancel_signin, "cancel_signin", PENDING, POST),
        route("/signout", signin.signout, "signout", SETUP, POST),
        *form("/setup", signin.setup_page, signin.setup_submit, "setup", PUBLIC),
        route("/profile", profile.profile, "profile", USER),
        route("/profile/reauth", reauth.reauth_page, "reauth_page", SETUP),
        route("/profile/reauth", reauth.reauth_submit, "reauth", SETUP, POST),
        route("/profile/2fa/enable", two_factor.enable, "enable_2fa", ENABLE, POST),
        route("/profile/2fa/setup/{enrollment}/{step}", two_factor.enroll_step, "enroll_step", SETUP),
        # A backup code just shown, kept: only for the session that was shown it, while it lives.
        route(
            "/profile/2fa/setup/{enrollment}/backup/download",
            backup_card.enroll_backup_download,
            "enroll_backup_download",
            SETUP,
        ),
        route(
            "/profile/2fa/setup/{enrollment}/backup/print",
            backup_card.enroll_backup_print,
            "enroll_backup_print",
            SETUP,
        ),
        route(
            "/profile/2fa/backup-code/{submission}/download",
            backup_card.new_backup_download,
            "new_backup_download",
            USER,
        ),
        route("/profile/2fa/backup-code/{submission}/print", backup_card.new_backup_print, "new_backup_print", USER),
        route("/profile/2fa/setup/{enrollment}", two_factor.enroll_verify, "enroll_verify", SETUP, POST),
        route("/profile/2fa/required", policy.setup, "two_factor_setup", SETUP),
        route("/help/two-factor", policy.help_page, "help_two_factor", PUBLIC),
        *code_action("/profile/2fa/check", "check", "check_2fa", fresh=False),
        *code_action("/profile/2fa/backup-code", "backup", "new_backup_code", fresh=True),
        *code_action("/profile/2fa/disable", "disable", "disable_2fa", fresh=True, precondition=disable_allowed),
        route("/profile/keys", security_keys.section, "security_keys", KEY_SECTION),
        route("/profile/keys/options", security_keys.add_options, "key_options", KEY_SETUP, POST),
        # Only a challenge (for Remove, Check 2FA, New Backup Codes, Disable): the actions are what is guarded.
        route("/profile/keys/confirm-options", security_keys.confirm_options, "key_confirm_options", USER, POST),
        route("/profile/keys", security_keys.add_submit, "key_add", KEY_SETUP, POST),
        route("/profile/keys/remove", security_keys.remove_submit, "key_remove", KEY_ACTION, POST),
        route("/sessions/{session_id:id}/signout", sessions.signout_session, "session_signout", USER, POST),
        route("/sessions/signout-others", sessions.signout_others, "sessions_signout_others", FRESH, POST),
        # Forgetting a remembered browser gives up a privilege: no password prompt (CSRF and the account scope still).
        route("/profile/browsers/{device_id:id}/forget", remembered_browsers.forget, "browser_forget", USER, POST),
        route(
            "/profile/browsers/forget-others",
            remembered_browsers.forget_others,
            "browsers_forget_others",
            USER,
            POST,
        ),
        route("/notices/that-was-me", notices.acknowledge, "notices_acknowledge", USER, POST),
        route("/notices/not-me", notices.disown, "notices_disown", USER, POST),
        # The current password in the form is this action's fresh re-authentication (throttled like sign-in).
        route("/profile/password", password.change_page, "change_password", USER),
        route("/profile/password", password.change_submit, "change_password_submit", USER, POST),
        # Reverse proxies ask here about every request to a protected app: no body, no CSRF, one read.
        route("/auth/verify", forward_auth.verify, "auth_verify", Access.FORWARD),
        route("/auth/forbidden", forward_auth.forbidden, "auth_forbidden", USER),
        Route("/healthz", healthz, name="healthz"),
        # Operators only: the configured addresses or bearer token (checked by the endpoint, no session).
        Route("/metrics", metrics_http.endpoint, name="metrics"),
        Route("/readyz", readyz, name="readyz"),
        Mount("/static", static_files(), name="static"),
    ]

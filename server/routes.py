"""Every URL of the app, in one list, each with the access rule its guard enforces."""

from starlette.convertors import IntegerConvertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from server.handlers import profile, reauth, sessions, signin, two_factor
from server.handlers.common import two_factor_off, two_factor_on
from server.static import static_files
from server.web import Access, Endpoint, GuardedRoute, Rule


def route(path: str, endpoint: Endpoint, name: str, rule: Access | Rule, methods: tuple[str, ...] = ("GET",)) -> Route:
    return GuardedRoute(path, endpoint, name, rule if isinstance(rule, Rule) else Rule(rule), methods)


async def healthz(request: Request) -> Response:
    """Liveness for load balancers."""
    return PlainTextResponse("ok")


# A database id in a URL: Starlette's "int" takes any number of digits, and int() raises
# (a 500) past 4,300 of them; at most 10 digits (32-bit ids), so anything longer is a 404.
DATABASE_ID = IntegerConvertor()
DATABASE_ID.regex = "[0-9]{1,10}"
register_url_convertor("id", DATABASE_ID)

USER, PENDING, PUBLIC = Access.USER, Access.PENDING, Access.PUBLIC
POST = ("POST",)

# Signed in, and 2FA on (else "2FA is off", before any password prompt) or off (else "already on").
WITH_2FA = Rule(USER, precondition=two_factor_on)
# Sensitive: the password within the last Settings.reauth_window, else the password prompt first.
# The enrollment steps are not: an enrollment exists only after a fresh Enable, for its session.
FRESH = Rule(USER, fresh=True)
FRESH_WITHOUT_2FA = Rule(USER, fresh=True, precondition=two_factor_off)
FRESH_WITH_2FA = Rule(USER, fresh=True, precondition=two_factor_on)


def fresh_submit(opens: str) -> Rule:
    """A fresh submit that needs a code: after the password its dialog (the route ``opens``) opens."""
    return Rule(USER, fresh=True, resume=opens, precondition=two_factor_on)


def routes() -> list[BaseRoute]:
    """The route table."""
    return [
        route("/", profile.home, "home", USER),
        route("/signin", signin.signin_page, "signin", PUBLIC),
        route("/signin", signin.signin_submit, "signin_submit", PUBLIC, POST),
        route("/signin/two-factor", signin.two_factor_page, "two_factor", PENDING),
        route("/signin/two-factor", signin.two_factor_submit, "two_factor_submit", PENDING, POST),
        route("/signin/backup-code", signin.backup_code_page, "backup_code", PENDING),
        route("/signin/backup-code", signin.backup_code_submit, "backup_code_submit", PENDING, POST),
        route("/signin/cancel", signin.cancel_signin, "cancel_signin", PENDING, POST),
        route("/signout", signin.signout, "signout", USER, POST),
        route("/setup", signin.setup_page, "setup", PUBLIC),
        route("/setup", signin.setup_submit, "setup_submit", PUBLIC, POST),
        route("/profile", profile.profile, "profile", USER),
        route("/profile/reauth", reauth.reauth_submit, "reauth", USER, POST),
        route("/profile/2fa/enable", two_factor.enable, "enable_2fa", FRESH_WITHOUT_2FA, POST),
        route("/profile/2fa/setup/{enrollment}/{step}", two_factor.enroll_step, "enroll_step", USER),
        route("/profile/2fa/setup/{enrollment}", two_factor.enroll_verify, "enroll_verify", USER, POST),
        route("/profile/2fa/check", two_factor.check_page, "check_2fa", WITH_2FA),
        route("/profile/2fa/check", two_factor.check_submit, "check_2fa_submit", WITH_2FA, POST),
        route("/profile/2fa/backup-code", two_factor.backup_page, "new_backup_code", FRESH_WITH_2FA),
        route(
            "/profile/2fa/backup-code",
            two_factor.backup_submit,
            "new_backup_code_submit",
            fresh_submit("new_backup_code"),
            POST,
        ),
        route("/profile/2fa/disable", two_factor.disable_page, "disable_2fa", FRESH_WITH_2FA),
        route(
            "/profile/2fa/disable", two_factor.disable_submit, "disable_2fa_submit", fresh_submit("disable_2fa"), POST
        ),
        route("/sessions/{session_id:id}/signout", sessions.signout_session, "session_signout", USER, POST),
        route("/sessions/signout-others", sessions.signout_others, "sessions_signout_others", FRESH, POST),
        Route("/healthz", healthz, name="healthz"),
        Mount("/static", static_files(), name="static"),
    ]

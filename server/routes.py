"""Every URL of the app, in one list, each with the access rule its guard enforces."""

from starlette.convertors import IntegerConvertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from server.handlers import profile, sessions, signin, two_factor
from server.static import static_files
from server.web import Access, Endpoint, guarded


def route(path: str, endpoint: Endpoint, name: str, access: Access, methods: tuple[str, ...] = ("GET",)) -> Route:
    return Route(path, guarded(endpoint, access), name=name, methods=list(methods))


async def healthz(request: Request) -> Response:
    """Liveness for load balancers."""
    return PlainTextResponse("ok")


# A database id in a URL: Starlette's "int" takes any number of digits, and int() raises
# (a 500) past 4,300 of them; at most 10 digits (32-bit ids), so anything longer is a 404.
class DatabaseIdConvertor(IntegerConvertor):
    regex = "[0-9]{1,10}"


register_url_convertor("id", DatabaseIdConvertor())

USER, PENDING, PUBLIC = Access.USER, Access.PENDING, Access.PUBLIC
POST = ("POST",)


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
        route("/profile/reauth", two_factor.reauth_submit, "reauth", USER, POST),
        route("/profile/2fa/enable", two_factor.enable, "enable_2fa", USER, POST),
        route("/profile/2fa/setup/{enrollment}/{step}", two_factor.enroll_step, "enroll_step", USER),
        route("/profile/2fa/setup/{enrollment}", two_factor.enroll_verify, "enroll_verify", USER, POST),
        route("/profile/2fa/check", two_factor.check_page, "check_2fa", USER),
        route("/profile/2fa/check", two_factor.check_submit, "check_2fa_submit", USER, POST),
        route("/profile/2fa/backup-code", two_factor.backup_page, "new_backup_code", USER),
        route("/profile/2fa/backup-code", two_factor.backup_submit, "new_backup_code_submit", USER, POST),
        route("/profile/2fa/disable", two_factor.disable_page, "disable_2fa", USER),
        route("/profile/2fa/disable", two_factor.disable_submit, "disable_2fa_submit", USER, POST),
        route("/sessions/{session_id:id}/signout", sessions.signout_session, "session_signout", USER, POST),
        route("/sessions/signout-others", sessions.signout_others, "sessions_signout_others", USER, POST),
        Route("/healthz", healthz, name="healthz"),
        Mount("/static", static_files(), name="static"),
    ]

"""Sign-in pages: password, two-factor code, backup code, first-start setup, sign-out."""

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.flows import account, key_signin, policy
from server.flows import signin as flow
from server.flows.outcomes import Outcome, Status
from server.handlers.common import refusal
from server.messages import message
from server.targets import safe_target
from server.web import (
    browser_binding,
    clear_cookie,
    client_of,
    field,
    href,
    pending_signin_of,
    read_form,
    redirect,
    render,
    services,
    set_cookie,
)

SIGNIN_NOTICES = {
    "expired": "signin.expired",
    "too_many_codes": "signin.too_many_codes",
    "signed_out": "signin.signed_out",
    "session_ended": "signin.session_ended",
    "account_created": "signin.account_created",
}


def _form_page(
    request: Request,
    title: str,
    partial: str,
    context: dict[str, Any],
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """A sign-in step: its form alone for htmx, else the one form page (titled ``page.<title>``)."""
    query = request.query_params  # rd= is the protected app's URL that forward auth sends here (a proxy's name)
    context = {"title": f"page.{title}", "next": query.get("next") or query.get("rd", ""), **context}
    return render(request, "form_page.html", partial, context, status, headers)


def _signin_page(
    request: Request,
    error: str | None = None,
    status: int = 200,
    username: str = "",
    wait: int = 0,
    next_url: str | None = None,
) -> Response:
    """The sign-in form; a refused submit keeps the destination it carried (``next_url``)."""
    notice = SIGNIN_NOTICES.get(request.query_params.get("m", ""))
    username = username or request.query_params.get("username", "")[:64]
    headers = {"Retry-After": str(wait)} if wait else None
    passkeys = key_signin.passkeys_offered(services(request))
    context = {"error": error, "wait": wait, "notice": notice, "username": username, "passkeys": passkeys}
    if next_url is not None:
        context["next"] = next_url
    return _form_page(request, "signin", "partials/signin_form.html", context, status, headers)


async def signin_page(request: Request) -> Response:
    """The sign-in form."""
    if request.state.user is not None:
        return redirect(request, href(request, "home"))
    if await pending_signin_of(request) is not None:
        return redirect(request, href(request, "two_factor"))
    return _signin_page(request)


async def signin_submit(request: Request) -> Response:
    """Check the password; then either the two-factor step or a new session."""
    svc = services(request)
    form = await read_form(request)
    username, password = field(form, "username", 64), field(form, "password", 1024)
    next_url = safe_target(request, field(form, "next", 512))
    if not username or not password:
        return _signin_page(request, "signin.missing", 422, username, next_url=next_url)
    client = client_of(request)
    result = await flow.check_password(svc, username, password, client)
    if result.user is None:
        error, status = refusal(result.status, "signin")
        return _signin_page(request, error, status, username, wait=result.wait, next_url=next_url)
    if result.status is Status.NEEDS_SECOND_FACTOR:
        token = await flow.begin_second_factor(svc, result.user, client)
        response = redirect(request, href(request, "two_factor", {"next": next_url}))
        set_cookie(response, request, "pending", token, max_age=int(svc.settings.pending_signin_ttl))
        clear_cookie(response, request, "session")
        return response
    return _signed_in(request, await flow.begin_session(svc, result.user, client), next_url)


def _signed_in(request: Request, result: Outcome, target: str) -> Response:
    response = redirect(request, target)
    assert result.token is not None
    set_cookie(response, request, "session", result.token)
    if result.device_cookie:
        lifetime = int(services(request).settings.device_cookie_lifetime)
        set_cookie(response, request, "device", result.device_cookie, max_age=lifetime)
    clear_cookie(response, request, "pending")
    clear_cookie(response, request, "pre")
    return response


async def _code_page(
    request: Request, mode: str, error: str | None = None, status: int = 200, **extra: int
) -> Response:
    headers = {"Retry-After": str(extra["wait"])} if extra.get("wait") else None
    svc = services(request)
    factors = await key_signin.factors(svc, request.state.pending)
    username = await flow.pending_username(svc, request.state.pending)
    context = {"mode": mode, "error": error, "factors": factors, "username": username, **extra}
    return _form_page(request, "two_factor", "partials/two_factor_form.html", context, status, headers)


async def two_factor_page(request: Request) -> Response:
    """The two-factor screen: "Use security key" with a key, a 6-digit code with the app."""
    return await _code_page(request, "code")


async def backup_code_page(request: Request) -> Response:
    """Use Backup Code: the 8-character recovery code instead of an app code."""
    return await _code_page(request, "backup")


async def _second_factor(request: Request, mode: str) -> Response:
    svc = services(request)
    form = await read_form(request)
    code = field(form, "code", 64)
    client = client_of(request)
    pending = request.state.pending
    target = safe_target(request, field(form, "next", 512))
    if mode == "code":
        result = await flow.complete_with_code(svc, pending, code, client)
    elif mode == "key":
        result = await key_signin.complete_with_key(svc, pending, field(form, "credential", 16 * 1024), client)
    else:
        result = await flow.complete_with_backup_code(svc, pending, code, client)
        target = href(request, "profile")
    return await _after_second_factor(request, mode, result, target, field(form, "username", 64))


async def _after_second_factor(request: Request, mode: str, result: Outcome, target: str, username: str) -> Response:
    if result.status is Status.OK and result.token:
        if mode == "backup" and result.user and await policy.setup_required(services(request), result.user):
            target = href(request, "two_factor_setup")  # the policy still applies: straight into Enable
        return _signed_in(request, result, target)
    if result.status in (Status.EXHAUSTED, Status.EXPIRED):
        query = {"m": "too_many_codes" if result.status is Status.EXHAUSTED else "expired"}
        if username:
            query["username"] = username
        response = redirect(request, href(request, "signin", query))
        clear_cookie(response, request, "pending")
        return response
    error, status = refusal(result.status, mode)
    page = "backup" if mode == "backup" else "code"
    if result.status in (Status.THROTTLED, Status.BUSY):
        return await _code_page(request, page, error, status, wait=result.wait)
    return await _code_page(request, page, error, status, attempts_left=result.attempts_left)


async def two_factor_submit(request: Request) -> Response:
    """Check the authenticator code; a session starts only when it is accepted."""
    return await _second_factor(request, "code")


async def backup_code_submit(request: Request) -> Response:
    """Sign in with the backup code, which also turns 2FA off."""
    return await _second_factor(request, "backup")


async def key_options(request: Request) -> Response:
    """Use security key: the options for the browser (static/keys.js)."""
    found = await key_signin.options(services(request), request.state.pending)
    if isinstance(found, Outcome):
        error, status = refusal(found.status, "key")
        return JSONResponse({"error": message(error)}, status_code=status)
    return JSONResponse(found)


async def key_submit(request: Request) -> Response:
    """Sign in with the security key's answer; a session starts only when it checks out."""
    return await _second_factor(request, "key")


async def passkey_options(request: Request) -> Response:
    """Sign in with a security key: the options for the browser (static/keys.js)."""
    found = await key_signin.passkey_options(services(request), browser_binding(request))
    if isinstance(found, Outcome):
        error, status = refusal(found.status, "key")
        return JSONResponse({"error": message(error)}, status_code=status)
    return JSONResponse(found)


async def passkey_submit(request: Request) -> Response:
    """Sign in with a security key (its PIN included) instead of password and code."""
    form = await read_form(request)
    payload = field(form, "credential", 16 * 1024)
    result = await key_signin.complete_with_passkey(
        services(request), browser_binding(request), payload, client_of(request)
    )
    next_url = safe_target(request, field(form, "next", 512))
    if result.status is Status.OK and result.token:
        return _signed_in(request, result, next_url)
    # The address's wait reads as it does at the password: one counter, one message.
    kind = "signin" if result.status is Status.ADDRESS_THROTTLED else "key"
    error, status = refusal(result.status, kind)
    return _signin_page(request, error, status, wait=result.wait, next_url=next_url)


async def cancel_signin(request: Request) -> Response:
    """Abandon a half-finished sign-in and go back to the password step."""
    await flow.cancel_second_factor(services(request), request.state.pending)
    response = redirect(request, href(request, "signin"))
    clear_cookie(response, request, "pending")
    return response


async def signout(request: Request) -> Response:
    """End this session."""
    await account.sign_out(services(request), request.state.user, request.state.session)
    response = redirect(request, href(request, "signin", {"m": "signed_out"}))
    clear_cookie(response, request, "session")
    return response


def _setup_page(request: Request, token: str, error: str | None = None, status: int = 200, **ctx: str) -> Response:
    return _form_page(request, "setup", "partials/setup_form.html", {"token": token, "error": error, **ctx}, status)


async def setup_page(request: Request) -> Response:
    """First start: create the first account with the one-time link from the console."""
    token = request.query_params.get("token", "")[:128]
    if not await account.setup_token_valid(services(request), token):
        return _setup_page(request, "", "setup.invalid_link", 404)
    return _setup_page(request, token)


async def setup_submit(request: Request) -> Response:
    """Create the first account, spending the setup link."""
    form = await read_form(request)
    token = field(form, "token", 128)
    username = field(form, "username", 64).strip()
    problem = await account.create_first_user(
        services(request), token, username, field(form, "password", 1024), field(form, "confirm", 1024)
    )
    if problem == "setup.invalid_link":
        return _setup_page(request, "", problem, 404)
    if problem:
        return _setup_page(request, token, problem, 422, username=username)
    query = {"m": "account_created", "next": href(request, "profile")}
    return redirect(request, href(request, "signin", query))

"""The Security card's actions: the Enable dialog, Check 2FA, New Backup Codes, Disable."""

import dataclasses

from starlette.requests import Request
from starlette.responses import Response

from server import store
from server.flows import account
from server.flows import two_factor as flow
from server.flows.two_factor import Status
from server.handlers.profile import activity_context, card_context, sessions_context
from server.web import client_of, field, href, is_htmx, read_form, redirect, render, render_dialog, services

PROMPTS = {
    "check": {
        "title": "Check 2FA",
        "intro": "Enter a current code from your authenticator app. This is a dry run: nothing on your account changes.",
        "submit": "Check code",
        "route": "check_2fa",
    },
    "backup": {
        "title": "New Backup Codes",
        "intro": "Enter a current code from your authenticator app. Your previous backup code stops working at once.",
        "submit": "Issue new backup code",
        "route": "new_backup_code",
    },
    "disable": {
        "title": "Disable two-factor authentication",
        "intro": "Enter a current code from your authenticator app to turn two-factor authentication off.",
        "submit": "Disable 2FA",
        "route": "disable_2fa",
    },
}
REAUTH_ACTIONS = ("enable", "backup", "disable", "signout_others")
STEPS = ("scan", "backup", "verify")


async def done(request: Request, notice: str, *, sessions: bool = False) -> Response:
    """Close the dialog and show the result on the Profile page (in place for htmx)."""
    if not is_htmx(request):
        await store.set_notice(services(request).db, request.state.session.id, notice)
        return redirect(request, href(request, "profile") + ("#sessions" if sessions else "#security-card"))
    context = {**await card_context(request, None if sessions else notice), **await activity_context(request)}
    if sessions:
        context.update(await sessions_context(request, notice))
    return render(request, "profile.html", "partials/updates.html", {**context, "update_sessions": sessions})


def reauth(request: Request, then: str, error: str | None = None, status: int = 403, wait: int = 0) -> Response:
    """Ask for the password again before a sensitive action."""
    return render_dialog(request, "partials/reauth.html", {"then": then, "error": error, "wait": wait}, status)


def prompt(request: Request, action: str, error: str | None = None, status: int = 200, wait: int = 0) -> Response:
    """The code prompt of Check 2FA, New Backup Codes or Disable."""
    return render_dialog(
        request,
        "partials/code_prompt.html",
        {"action": action, **PROMPTS[action], "error": error, "wait": wait},
        status,
    )


def _needs_reauth(request: Request) -> bool:
    return account.needs_reauth(services(request), request.state.session)


# ---- Enable ----------------------------------------------------------------------------


async def enable(request: Request) -> Response:
    """Enable: open the three-step dialog with a fresh pending enrollment."""
    if request.state.user.two_factor_on:
        return await done(request, "enroll.already_on")
    if _needs_reauth(request):
        return reauth(request, "enable")
    return await _start_enrollment(request)


async def _start_enrollment(request: Request) -> Response:
    view = await flow.start_enrollment(services(request), request.state.user, request.state.session)
    if view is None:
        return await done(request, "enroll.already_on")
    return render_dialog(request, "partials/enroll_step.html", {"step": "scan", "enrollment": view})


async def enroll_step(request: Request) -> Response:
    """Steps 1 to 3 of the Enable dialog (Next moves between them; nothing changes yet)."""
    step = request.path_params["step"]
    view = await flow.load_enrollment(
        services(request), request.path_params["enrollment"][:32], request.state.user, request.state.session
    )
    if step not in STEPS or view is None:
        return render_dialog(request, "partials/enroll_expired.html", status=404)
    return render_dialog(request, "partials/enroll_step.html", {"step": step, "enrollment": view})


async def enroll_verify(request: Request) -> Response:
    """Verify and Enable: switch 2FA on only with a code for the pending secret."""
    svc = services(request)
    form = await read_form(request)
    enrollment_id = request.path_params["enrollment"][:32]
    outcome = await flow.confirm_enrollment(
        svc,
        enrollment_id,
        request.state.user,
        request.state.session,
        field(form, "code", 64),
        client_of(request),
    )
    if outcome.status is Status.OK:
        return await done(request, "card.enabled")
    if outcome.status is Status.ALREADY_ON:
        return await done(request, "enroll.already_on")
    view = await flow.load_enrollment(svc, enrollment_id, request.state.user, request.state.session)
    if outcome.status is Status.EXPIRED or view is None:
        return render_dialog(request, "partials/enroll_expired.html", status=409)
    error = "code.format" if outcome.status is Status.FORMAT else "code.invalid"
    return render_dialog(
        request, "partials/enroll_step.html", {"step": "verify", "enrollment": view, "error": error}, 422
    )


# ---- Check 2FA, New Backup Codes, Disable ---------------------------------------------------


def _refused(request: Request, action: str, outcome: flow.Outcome) -> Response:
    if outcome.status is Status.THROTTLED:
        return prompt(request, action, "code.throttled", 429, wait=outcome.wait)
    error = {Status.FORMAT: "code.format", Status.REUSED: "code.reused"}.get(outcome.status, "code.invalid")
    return prompt(request, action, error, 422)


async def _open_prompt(request: Request, action: str) -> Response:
    if not request.state.user.two_factor_on:
        return await done(request, "card.not_on")
    if action != "check" and _needs_reauth(request):
        return reauth(request, action)
    return prompt(request, action)


async def check_page(request: Request) -> Response:
    """Check 2FA: ask for a code."""
    return await _open_prompt(request, "check")


async def check_submit(request: Request) -> Response:
    """Check 2FA: confirm the code is valid without changing anything."""
    form = await read_form(request)
    outcome = await flow.check_code(services(request), request.state.user, field(form, "code", 64), client_of(request))
    if outcome.status is Status.OK:
        return await done(request, "card.check_ok")
    if outcome.status is Status.NOT_ON:
        return await done(request, "card.not_on")
    return _refused(request, "check", outcome)


async def backup_page(request: Request) -> Response:
    """New Backup Codes: ask for a current code."""
    return await _open_prompt(request, "backup")


async def backup_submit(request: Request) -> Response:
    """New Backup Codes: issue the new code and show it once."""
    if request.state.user.two_factor_on and _needs_reauth(request):
        return reauth(request, "backup")
    form = await read_form(request)
    outcome = await flow.rotate_backup_code(
        services(request), request.state.user, field(form, "code", 64), client_of(request)
    )
    if outcome.status is Status.OK:
        return render_dialog(request, "partials/new_backup_code.html", {"backup_code": outcome.backup_code})
    if outcome.status is Status.NOT_ON:
        return await done(request, "card.not_on")
    return _refused(request, "backup", outcome)


async def disable_page(request: Request) -> Response:
    """Disable: ask for a current code."""
    return await _open_prompt(request, "disable")


async def disable_submit(request: Request) -> Response:
    """Disable: turn 2FA off after a current code."""
    if request.state.user.two_factor_on and _needs_reauth(request):
        return reauth(request, "disable")
    form = await read_form(request)
    outcome = await flow.disable(services(request), request.state.user, field(form, "code", 64), client_of(request))
    if outcome.status is Status.OK:
        return await done(request, "card.disabled")
    if outcome.status is Status.NOT_ON:
        return await done(request, "card.not_on")
    return _refused(request, "disable", outcome)


# ---- re-authentication -------------------------------------------------------------------


async def reauth_submit(request: Request) -> Response:
    """Confirm the password, then continue with the action that asked for it."""
    svc = services(request)
    form = await read_form(request)
    then = field(form, "then", 32)
    if then not in REAUTH_ACTIONS:
        then = "enable"
    ok, wait = await account.reauthenticate(
        svc, request.state.user, request.state.session, field(form, "password", 1024), client_of(request)
    )
    if wait:
        return reauth(request, then, "signin.throttled", 429, wait)
    if not ok:
        return reauth(request, then, "reauth.invalid", 422)
    request.state.session = dataclasses.replace(request.state.session, authenticated_at=svc.clock())
    if then == "signout_others":
        await account.sign_out_others(svc, request.state.user, request.state.session, client_of(request))
        return await done(request, "sessions.signed_out_others", sessions=True)
    if then == "enable":
        return await _start_enrollment(request)
    if not request.state.user.two_factor_on:
        return await done(request, "card.not_on")
    return prompt(request, then)

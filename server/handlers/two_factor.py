"""The Security card's actions: the Enable dialog, Check 2FA, New Backup Codes, Disable.

Whether 2FA must be on or off, and which actions need a recent password, is declared in the
route table (``server/routes.py``) and checked by the guard before these run.
"""

from starlette.requests import Request
from starlette.responses import Response

from server.flows import two_factor as flow
from server.flows.outcomes import Outcome, Status
from server.handlers.common import done, refusal
from server.web import client_of, field, read_form, render_dialog, services

PROMPT_ROUTES = {"check": "check_2fa", "backup": "new_backup_code", "disable": "disable_2fa"}
"""The code prompts; their texts are the messages ``prompt.<action>.title``, ``.intro`` and ``.submit``."""
STEPS = ("scan", "backup", "verify")


def prompt(request: Request, action: str, error: str | None = None, status: int = 200, wait: int = 0) -> Response:
    """The code prompt of Check 2FA, New Backup Codes or Disable."""
    context = {"action": action, "route": PROMPT_ROUTES[action], "error": error, "wait": wait}
    return render_dialog(request, "partials/code_prompt.html", context, status)


# ---- Enable ----------------------------------------------------------------------------


async def enable(request: Request) -> Response:
    """Enable: open the three-step dialog with a fresh pending enrollment."""
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
    user, session = request.state.user, request.state.session
    outcome = await flow.confirm_enrollment(
        svc, enrollment_id, user, session, field(form, "code", 64), client_of(request)
    )
    if outcome.status is Status.OK:
        return await done(request, "card.enabled")
    if outcome.status is Status.ALREADY_ON:
        return await done(request, "enroll.already_on")
    view = await flow.load_enrollment(svc, enrollment_id, user, session)
    if outcome.status is Status.EXPIRED or view is None:
        return render_dialog(request, "partials/enroll_expired.html", status=409)
    error, status = refusal(outcome.status, "code")
    context = {"step": "verify", "enrollment": view, "error": error}
    return render_dialog(request, "partials/enroll_step.html", context, status)


# ---- Check 2FA, New Backup Codes, Disable ---------------------------------------------------


async def _answer(request: Request, action: str, outcome: Outcome, success: str) -> Response:
    """The one shape of a code action's answer: its success, "2FA is off", or the prompt again."""
    if outcome.status is Status.OK:
        if outcome.backup_code is not None:
            return render_dialog(request, "partials/new_backup_code.html", {"backup_code": outcome.backup_code})
        return await done(request, success)
    if outcome.status is Status.NOT_ON:
        return await done(request, "card.not_on")
    error, status = refusal(outcome.status, "code")
    return prompt(request, action, error, status, wait=outcome.wait)


async def _code_of(request: Request) -> str:
    return field(await read_form(request), "code", 64)


async def check_page(request: Request) -> Response:
    """Check 2FA: ask for a code."""
    return prompt(request, "check")


async def check_submit(request: Request) -> Response:
    """Check 2FA: confirm the code is valid without changing anything."""
    code = await _code_of(request)
    outcome = await flow.check_code(services(request), request.state.user, code, client_of(request))
    return await _answer(request, "check", outcome, "card.check_ok")


async def backup_page(request: Request) -> Response:
    """New Backup Codes: ask for a current code."""
    return prompt(request, "backup")


async def backup_submit(request: Request) -> Response:
    """New Backup Codes: issue the new code and show it once."""
    code = await _code_of(request)
    outcome = await flow.rotate_backup_code(services(request), request.state.user, code, client_of(request))
    return await _answer(request, "backup", outcome, "card.new_backup")


async def disable_page(request: Request) -> Response:
    """Disable: ask for a current code."""
    return prompt(request, "disable")


async def disable_submit(request: Request) -> Response:
    """Disable: turn 2FA off after a current code."""
    code = await _code_of(request)
    outcome = await flow.disable(services(request), request.state.user, code, client_of(request))
    return await _answer(request, "disable", outcome, "card.disabled")

"""The Security card's actions: the Enable dialog, Check 2FA, New Backup Codes, Disable.

Whether 2FA must be on or off, and which actions need a recent password, is declared in the
route table (``server/routes.py``) and checked by the guard before these run.
"""

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from server.flows import account, repeat, security_keys
from server.flows import two_factor as flow
from server.flows.outcomes import Outcome, Status
from server.handlers.common import activity_context, done, refusal, retry_after
from server.messages import message
from server.web import Endpoint, client_of, field, href, is_htmx, read_form, redirect, render_dialog, services

STEPS = ("scan", "backup", "verify")
KEY_ANSWER_LIMIT = 16 * 1024
"""Longer than any key answer the mechanism accepts, so an oversized one is refused, not cut short."""


def prompt(
    request: Request, action: str, route: str, error: str | None = None, status: int = 200, wait: int = 0
) -> Response:
    """The code prompt of Check 2FA, New Backup Codes or Disable, posting to the route called ``route``.

    Its texts are the messages ``prompt.<action>.title``, ``.intro`` and ``.submit``.
    """
    context = {"action": action, "route": route, "error": error, "wait": wait}
    return render_dialog(request, "partials/code_prompt.html", context, status, headers=retry_after(wait))


# ---- Enable ----------------------------------------------------------------------------


SETUP_NOTICES = ("continued", "replaced")


def expired(request: Request, status: int) -> Response:
    """The expired setup, saying whether Start again will ask for the password first."""
    stale = account.needs_reauth(services(request), request.state.session)
    return render_dialog(request, "partials/enroll_expired.html", {"asks_password": stale}, status)


async def enable(request: Request) -> Response:
    """Enable: open the three-step dialog, continuing this session's pending setup if there is one.

    Without JavaScript the answer is a redirect to step 1's page, so Back and reload neither
    resubmit nor replace the secret.
    """
    view = await flow.start_enrollment(services(request), request.state.user, request.state.session)
    if view is None:
        return await done(request, "enroll.already_on")
    notice = "continued" if view.continued else "replaced" if view.replaced else None
    if not is_htmx(request):
        query = {"m": notice} if notice else None
        return redirect(request, href(request, "enroll_step", query, enrollment=view.id, step="scan"))
    return render_dialog(request, "partials/enroll_step.html", {"step": "scan", "enrollment": view, "notice": notice})


async def enroll_step(request: Request) -> Response:
    """Steps 1 to 3 of the Enable dialog (Next moves between them; nothing changes yet)."""
    step = request.path_params["step"]
    view = await flow.load_enrollment(
        services(request), request.path_params["enrollment"][:32], request.state.user, request.state.session
    )
    if step not in STEPS or view is None:
        return expired(request, 404)
    notice = request.query_params.get("m")
    context = {"step": step, "enrollment": view, "notice": notice if notice in SETUP_NOTICES else None}
    return render_dialog(request, "partials/enroll_step.html", context)


async def enroll_verify(request: Request) -> Response:
    """Verify and Enable: switch 2FA on only with a code for the pending secret."""
    svc = services(request)
    form = await read_form(request)
    enrollment_id = request.path_params["enrollment"][:32]
    user, session = request.state.user, request.state.session
    submission = repeat.submission_of(session, "enable", field(form, "submission", 32))
    outcome = await repeat.once(
        svc,
        submission,
        lambda: flow.confirm_enrollment(svc, enrollment_id, user, session, field(form, "code", 64), client_of(request)),
    )
    if outcome.status is Status.OK:
        # Under the policy the dialog may have been opened from the setup page: load the Profile page.
        return await done(request, "card.enabled", reload=request.state.standing.required)
    if outcome.status is Status.ALREADY_ON:
        return await done(request, "enroll.already_on")
    view = await flow.load_enrollment(svc, enrollment_id, user, session)
    if outcome.status is Status.EXPIRED or view is None:
        return expired(request, 409)
    error, status = refusal(outcome.status, "code")
    context = {"step": "verify", "enrollment": view, "error": error, "wait": outcome.wait}
    return render_dialog(request, "partials/enroll_step.html", context, status, headers=retry_after(outcome.wait))


# ---- Check 2FA, New Backup Codes, Disable ---------------------------------------------------

Action = Callable[..., Awaitable[Outcome]]  # (services, user, code, client)

CODE_ACTIONS: dict[str, tuple[Action, str]] = {
    "check": (flow.check_code, "card.check_ok"),
    "backup": (flow.rotate_backup_code, "card.new_backup"),
    "disable": (flow.disable, "card.disabled"),
}
"""Each code action's flow and the card's message after it succeeds."""
TITLES = {action: message(f"prompt.{action}.title") for action in CODE_ACTIONS}


def code_prompt(action: str, route: str) -> Endpoint:
    """The endpoint that opens the code prompt of ``action`` (at the route called ``route``)."""

    async def open_prompt(request: Request) -> Response:
        return prompt(request, action, route)

    open_prompt.__name__ = f"{action}_page"
    open_prompt.__doc__ = f"{TITLES[action]}: ask for a current code."
    return open_prompt


def code_submit(action: str, route: str) -> Endpoint:
    """The endpoint that runs ``action`` with the submitted code: its success, "2FA is off", or the prompt again."""
    run, success = CODE_ACTIONS[action]

    async def submit(request: Request) -> Response:
        svc, form = services(request), await read_form(request)
        code, confirmation = field(form, "code", 64), field(form, "confirmation", KEY_ANSWER_LIMIT)
        user, client, session = request.state.user, client_of(request), request.state.session
        submission = repeat.submission_of(session, action, field(form, "submission", 32))
        if confirmation:  # a touch of one of the account's security keys instead of a code

            def act() -> Awaitable[Outcome]:
                return security_keys.confirmed_card_action(svc, user, session, action, confirmation, client)

        else:

            def act() -> Awaitable[Outcome]:
                return run(svc, user, code, client)

        outcome = await repeat.once(svc, submission, act)
        if outcome.status is Status.OK:
            if outcome.backup_code is not None:  # New Backup Codes: shown once, in the dialog
                context = {
                    "backup_code": outcome.backup_code,
                    "submission": submission and submission.id,
                    "refresh_activity": True,
                }
                context.update(await activity_context(request))  # the page's activity list gets the new row
                return render_dialog(request, "partials/new_backup_code.html", context)
            return await done(request, success)
        if outcome.status is Status.NOT_ON:
            return await done(request, "card.not_on")
        error, status = refusal(outcome.status, "key" if confirmation else "code")
        return prompt(request, action, route, error, status, wait=outcome.wait)

    submit.__name__ = f"{action}_submit"
    submit.__doc__ = f"{TITLES[action]}: act on a current code."
    return submit

"""Security keys on the Profile page: the ceremony options (JSON for static/keys.js), add and remove.

The browser's part needs JavaScript; the forms are real forms that static/keys.js fills with
the key's answer and submits, so results and refusals are ordinary pages.
"""

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.flows import account
from server.flows import security_keys as flow
from server.flows.outcomes import Outcome, Status
from server.handlers.common import refusal
from server.messages import message
from server.web import client_of, error_page, field, href, read_form, redirect, render_dialog, services

PAYLOAD_LIMIT = 16 * 1024
"""Longer than any key answer the mechanism accepts, so an oversized one is refused, not cut short."""


RESUMED = {"key_options": "keys.confirmed_add", "key_add": "keys.confirmed_add", "key_remove": "keys.confirmed_remove"}
"""What the section says after the password prompt of a key action (the prompt's form names it)."""


async def section(request: Request) -> Response:
    """The Security keys section of the Profile page (where a key action continues after the password).

    After the prompt (its POST) the section says to click the action again: the key's ceremony
    needs a click of its own (Safari's ``create()`` wants a user gesture), so it does not start by itself.
    """
    if request.method == "POST" and (notice := RESUMED.get(field(await read_form(request), "then", 64))):
        await account.leave_notice(services(request), request.state.session, notice)
    page = "two_factor_setup" if request.state.standing.confined else "profile"  # an overdue account's Add is there
    return redirect(request, href(request, page) + "#security-keys")


def _refused_json(outcome: Outcome) -> Response:
    key, status = refusal(outcome.status, "key")
    return JSONResponse({"error": message(key)}, status_code=status)


async def add_options(request: Request) -> Response:
    """Add security key, step 1: the options for the browser (and for confirming with another key)."""
    found = await flow.add_options(services(request), request.state.user, request.state.session)
    return _refused_json(found) if isinstance(found, Outcome) else JSONResponse(found)


async def confirm_options(request: Request) -> Response:
    """Remove: the options to confirm with one of the account's keys."""
    found = await flow.confirm_options(services(request), request.state.user, request.state.session)
    return _refused_json(Outcome(Status.UNAVAILABLE)) if found is None else JSONResponse({"confirm": found})


async def _form(request: Request) -> dict[str, str]:
    form = await read_form(request)
    names = ("credential", "confirmation")
    return {
        "key": field(form, "key", 16),
        "name": field(form, "name", 256),
        "code": field(form, "code", 64),
        **{name: field(form, name, PAYLOAD_LIMIT) for name in names},
    }


async def _after(request: Request, outcome: Outcome, notice: str, form: dict[str, str]) -> Response:
    if outcome.status is Status.OK:
        if outcome.backup_code is not None:  # this key turned 2FA on: the backup code, shown once
            return render_dialog(request, "partials/key_backup_code.html", {"backup_code": outcome.backup_code})
        await account.leave_notice(services(request), request.state.session, notice)
        return redirect(request, href(request, "profile") + "#security-keys")
    key, status = refusal(outcome.status, "code" if form["code"].strip() else "key")  # what confirmed it
    return error_page(request, status, key)


async def add_submit(request: Request) -> Response:
    """Add security key, step 2: store the key the browser created."""
    form = await _form(request)
    outcome = await flow.add_key(services(request), request.state.user, request.state.session, form, client_of(request))
    return await _after(request, outcome, "keys.added", form)


async def remove_submit(request: Request) -> Response:
    """Remove one security key (after a current second factor)."""
    form = await _form(request)
    key_id = int(form["key"]) if form["key"].isascii() and form["key"].isdigit() else 0
    outcome = await flow.remove_key(
        services(request), request.state.user, request.state.session, key_id, form, client_of(request)
    )
    return await _after(request, outcome, "keys.removed", form)

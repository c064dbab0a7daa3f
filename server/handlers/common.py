"""What several handlers share: closing a dialog with the Profile page updated, the contexts of
the Security card, the session list, the remembered browsers and the activity list, the
preconditions the route table declares, and how a flow's outcome reads to the user."""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from server.flows import account, remembered_browsers, security_keys
from server.flows.outcomes import Status
from server.messages import EVENTS, MESSAGES
from server.web import client_of, error_page, href, is_htmx, redirect, render, services

OFFER_AFTER = frozenset({"card.enabled", "card.disabled", "card.backup_used"})

REFUSALS: dict[Status, tuple[str, int]] = {
    Status.FORMAT: ("format", 422),
    Status.INVALID: ("invalid", 422),
    Status.REUSED: ("reused", 422),
    Status.THROTTLED: ("throttled", 429),
    Status.ADDRESS_THROTTLED: ("throttled_address", 429),
    Status.MISCONFIGURED: ("misconfigured", 503),
    Status.REQUIRED: ("required", 403),
    Status.BUSY: ("busy", 503),
    Status.OUTSIDE_GROUP: ("outside_group", 403),
    Status.SETUP_OVERDUE: ("setup_overdue", 401),
    Status.EXPIRED: ("expired", 409),
    Status.UNAVAILABLE: ("unavailable", 409),
    Status.NOT_ON: ("not_on", 409),
    Status.ALREADY_ON: ("already_on", 409),
}
"""How a refused attempt reads: the last part of its message key (``code.invalid``,
``backup.format``, ``signin.throttled``, ...) and its HTTP status."""


def refusal(status: Status, kind: str) -> tuple[str, int]:
    """The message key and HTTP status of a refused ``kind`` of attempt (code, backup, signin).

    A kind without its own message for a status reads like a wrong app code (``code.*``).
    """
    suffix, http_status = REFUSALS.get(status, REFUSALS[Status.INVALID])
    key = f"{kind}.{suffix}"
    return (key if key in MESSAGES else f"code.{suffix}"), http_status


def retry_after(wait: int) -> dict[str, str] | None:
    """The ``Retry-After`` header of a throttled or busy answer (none without a wait)."""
    return {"Retry-After": str(wait)} if wait else None


async def card_context(request: Request, notice: str | None = None) -> dict[str, Any]:
    """What the Security card partial needs, read fresh from the database.

    After Enable, Disable or a backup-code sign-in the card offers to sign out the
    other sessions, when there are any.
    """
    svc = services(request)
    user = await account.current_user(svc, request.state.user)
    request.state.user = user
    offer = notice in OFFER_AFTER and len(await account.sessions_of(svc, user)) > 1
    return {
        "user": user,
        "card_notice": notice or await account.standing_card_notice(svc, user),
        "offer_signout": offer,
    }


async def sessions_context(request: Request, notice: str | None = None) -> dict[str, Any]:
    """What the session list partial needs."""
    svc = services(request)
    return {
        "sessions": await account.sessions_of(svc, request.state.user),
        "this_session_id": request.state.session.id,
        "sessions_notice": notice,
    }


async def browsers_context(request: Request, notice: str | None = None) -> dict[str, Any]:
    """What the Remembered browsers partial needs (the device cookie says which one is this browser)."""
    svc = services(request)
    return {
        "browsers": await remembered_browsers.listed(svc, request.state.user, client_of(request).device),
        "browsers_notice": notice,
    }


async def activity_context(request: Request) -> dict[str, Any]:
    """What the security activity partial needs."""
    return {
        "events": await account.recent_activity(services(request), request.state.user),
        "event_names": EVENTS,
    }


async def keys_context(request: Request, notice: str | None = None) -> dict[str, Any]:
    """What the Security keys section needs: the keys, why keys are unavailable (if they are), a notice."""
    svc = services(request)
    return {
        "keys": await security_keys.keys_of(svc, request.state.user),
        "keys_unavailable": security_keys.unavailable_reason(svc),
        "keys_notice": notice,
    }


async def done(request: Request, notice: str, *, sessions: bool = False, reload: bool = False) -> Response:
    """Close the dialog and show the result on the Profile page (in place for htmx; ``reload``: by
    loading it, when the dialog may have been opened from another page, the setup page)."""
    if reload or not is_htmx(request):
        await account.leave_notice(services(request), request.state.session, notice)
        return redirect(request, href(request, "profile") + ("#sessions" if sessions else "#security-card"))
    context = {**await card_context(request, None if sessions else notice), **await activity_context(request)}
    context.update(await keys_context(request))  # the section offers the app's code once the app is set up
    if sessions:
        context.update(await sessions_context(request, notice))
    return render(request, "profile.html", "partials/updates.html", {**context, "update_sessions": sessions})


async def two_factor_on(request: Request) -> Response | None:
    """Precondition of Check 2FA, New Backup Codes and Disable: with 2FA off there is nothing to do."""
    return None if request.state.user.two_factor_on else await done(request, "card.not_on")


async def disable_allowed(request: Request) -> Response | None:
    """Precondition of Disable: 2FA is on, and the two-factor policy does not require it (403 with why)."""
    if (refused := await two_factor_on(request)) is not None:
        return refused
    return error_page(request, 403, "code.required") if request.state.standing.required else None


async def two_factor_off(request: Request) -> Response | None:
    """Precondition of Enable: with 2FA on already there is nothing to set up."""
    return await done(request, "enroll.already_on") if request.state.user.two_factor_on else None

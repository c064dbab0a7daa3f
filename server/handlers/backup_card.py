"""Download and Print of a backup code just shown: only for the session that was shown it, for minutes.

The wizard's code (step 2) lives as long as its pending setup; the code of New Backup Codes as long
as its submission's stored result. Both pages are no-store, like every page of the app.
"""

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from server.flows import repeat
from server.flows import two_factor as flow
from server.messages import message
from server.web import error_page, render, services

FILE_NAME = "backup-code.txt"


def _keep(request: Request, backup_code: str | None, kind: str) -> Response:
    """The code as a small text file (``download``) or as a printable card page (``print``)."""
    if backup_code is None:
        return error_page(request, 404, "backup.gone")
    svc = services(request)
    context = {"backup_code": backup_code, "username": request.state.user.username, "issued_at": svc.clock()}
    if kind == "print":
        return render(request, "backup_card.html", "backup_card.html", context)
    text = svc.templates.get_template("backup_card.txt").render(
        {"msg": message, "issuer": svc.settings.issuer, "help_contact": svc.settings.help_contact, **context}
    )
    name = f"{svc.settings.issuer.lower()}-{FILE_NAME}"
    return PlainTextResponse(text, headers={"Content-Disposition": f'attachment; filename="{name}"'})


async def _enrollment_code(request: Request) -> str | None:
    user, session = request.state.user, request.state.session
    return await flow.enrollment_backup_code(services(request), request.path_params["enrollment"][:32], user, session)


async def _issued_code(request: Request) -> str | None:
    submission = repeat.submission_of(request.state.session, "backup", request.path_params["submission"])
    return None if submission is None else await repeat.stored_backup_code(services(request), submission)


async def enroll_backup_download(request: Request) -> Response:
    """Step 2 of Enable: the backup code as a text file."""
    return _keep(request, await _enrollment_code(request), "download")


async def enroll_backup_print(request: Request) -> Response:
    """Step 2 of Enable: the backup code on a printable card."""
    return _keep(request, await _enrollment_code(request), "print")


async def new_backup_download(request: Request) -> Response:
    """New Backup Codes: the code just issued, as a text file."""
    return _keep(request, await _issued_code(request), "download")


async def new_backup_print(request: Request) -> Response:
    """New Backup Codes: the code just issued, on a printable card."""
    return _keep(request, await _issued_code(request), "print")

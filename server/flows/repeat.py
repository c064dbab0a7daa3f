"""A repeated submission of the same form gets the first one's result, not an error.

Forms whose action cannot be done twice (New Backup Codes, Verify and Enable, ...) carry a
one-time submission id. The first request with it claims it (one conditional INSERT, so any
server process sees the claim) and stores its result when it succeeds; a repeat (a double
click, a resubmit after a slow answer) waits for that result and answers with it. A result
with a secret in it (a new backup code) is sealed, and every result lives only minutes.
"""

import asyncio
import re
from collections.abc import Awaitable, Callable

from server import store
from server.auth.crypto import SealError
from server.flows.outcomes import Outcome, Status
from server.services import Services
from server.submission_store import Submission, claim, finish, release, state

RESULT_LIFETIME = 2 * 60.0
"""How long a result without a secret answers repeats."""
SECRET_LIFETIME = 5 * 60.0
"""How long a new backup code stays readable for its session (to repeat it, download or print it)."""
CLAIM_LIFETIME = 60.0
"""A claim whose request never finished (a crash) stops blocking repeats after this."""
WAIT_STEP = 0.05
WAIT_STEPS = 200
"""A repeat waits for the first request's result at most WAIT_STEP * WAIT_STEPS seconds (10 s)."""
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{16}")

Run = Callable[[], Awaitable[Outcome]]


def submission_of(session: store.Session, action: str, raw_id: str) -> Submission | None:
    """The submission a form names, or None for a form without a (well-formed) id."""
    return Submission(session.id, action, raw_id) if ID_PATTERN.fullmatch(raw_id) else None


def _context(submission: Submission) -> str:
    return f"submission:{submission.session_id}:{submission.action}:{submission.id}"


def _result(svc: Services, submission: Submission, outcome: Outcome) -> str:
    if outcome.backup_code is None:
        return ""
    return svc.keyring.seal(outcome.backup_code, _context(submission))


def _outcome(svc: Services, submission: Submission, result: str) -> Outcome:
    if not result:
        return Outcome(Status.OK)
    try:
        return Outcome(Status.OK, backup_code=svc.keyring.open(result, _context(submission)))
    except SealError:
        return Outcome(Status.EXPIRED)


async def once(svc: Services, submission: Submission | None, run: Run) -> Outcome:
    """``run`` once per submission: its outcome, or for a repeat the first one's successful outcome."""
    if submission is None:
        return await run()
    now = svc.clock()
    if await claim(svc.db, submission, now, now + CLAIM_LIFETIME):
        try:
            outcome = await run()
        except BaseException:
            await release(svc.db, submission)
            raise
        if outcome.status is Status.OK:
            lifetime = RESULT_LIFETIME if outcome.backup_code is None else SECRET_LIFETIME
            await finish(svc.db, submission, _result(svc, submission, outcome), svc.clock() + lifetime)
        else:
            await release(svc.db, submission)
        return outcome
    for _ in range(WAIT_STEPS):
        claimed, result = await state(svc.db, submission, svc.clock())
        if result is not None:
            return _outcome(svc, submission, result)
        if not claimed:  # the first request failed: this one tries for itself
            return await once(svc, submission, run)
        await asyncio.sleep(WAIT_STEP)
    return await run()


async def stored_backup_code(svc: Services, submission: Submission) -> str | None:
    """The backup code a New Backup Codes submission issued, while it is kept for its session."""
    _, result = await state(svc.db, submission, svc.clock())
    if not result:
        return None
    return _outcome(svc, submission, result).backup_code

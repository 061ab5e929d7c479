"""The DPO's access log: who consulted a recording, and the report a data subject receives.

==============================  =============================================================
``GET  /access?recording=ID``   every consultation of one recording (:mod:`recorder.consultation`),
                                with the staff ids (the DPO's internal view) and, beside it,
                                the data-subject view with staff withheld (roles only: CJEU
                                C-579/21); audited ``audit.view``
``POST /access/subject``        by the caller's full number (POST: never in a URL):
                                :func:`recorder.subject.find` (``subject.find``), then the
                                consultations of all their recordings, staff withheld
==============================  =============================================================

Who: the DPO, purpose ``dsar`` (:func:`recorder.subject.ensure` over the access table, the
same rule as every other data-subject request); anyone else is refused and audited.
"""

from __future__ import annotations

import re

from starlette.responses import Response
from starlette.routing import Route

from recorder.access import Action, Role
from recorder.audit_events import AuditAction, record
from recorder.consultation import Consultation, consultations
from recorder.errors import AccessDenied, InvalidEvent
from recorder.subject import ensure, find
from recorder.web.ui.handlers import Ctx, signed_in
from storage.vault import Vault

PURPOSE = "dsar"
_RECORDING_ID = re.compile(r"[0-9a-f]{32}")


def _ensure_dpo(ctx: Ctx, vault: Vault, audit_action: str) -> None:
    ensure(vault, ctx.deps.config, ctx.principal, Action.LIST, PURPOSE, now=ctx.now,
           audit_action=audit_action)  # fmt: skip
    if Role.DPO.value not in ctx.principal.roles:  # legal passes `ensure` with purpose legal only
        record(vault.audit, ctx.principal, audit_action, now=ctx.now, outcome="denied",
               purpose=PURPOSE, reason="the access log is the DPO's")  # fmt: skip
        raise AccessDenied("the access log is the DPO's")


@signed_in
async def access_log(ctx: Ctx) -> Response:
    """One recording's consultations (or the empty search form)."""
    raw = (ctx.request.query_params.get("recording") or "").strip().lower()
    if raw and not _RECORDING_ID.fullmatch(raw):
        raise InvalidEvent("recording: expected a recording id (32 hex characters)")

    def read(vault: Vault) -> tuple[list[Consultation], list[Consultation]]:
        action = AuditAction.AUDIT_VIEW
        _ensure_dpo(ctx, vault, action)
        if not raw:
            return [], []
        internal = consultations(vault.audit, [raw], withhold_actors=False)
        withheld = consultations(vault.audit, [raw], withhold_actors=True)
        record(vault.audit, ctx.principal, action, now=ctx.now, outcome="allowed",
               recording_id=raw, purpose=PURPOSE, reason="DPO, data-subject request",
               detail={"entries": len(internal)})  # fmt: skip
        return internal, withheld

    internal, withheld = await ctx.deps.db.run(read)
    return ctx.page(
        "access.html", recording=raw, internal=internal, withheld=withheld, subject=False,
        found=None,
    )  # fmt: skip


@signed_in
async def subject_report(ctx: Ctx) -> Response:
    """The consultation report of one caller's recordings, as the data subject receives it."""
    number = (await ctx.form()).get("number")
    if not isinstance(number, str) or not number.strip() or len(number) > 64:
        raise InvalidEvent("number: give the caller's number")

    def read(vault: Vault) -> tuple[int, list[Consultation]]:
        _ensure_dpo(ctx, vault, AuditAction.SUBJECT_FIND)
        found = find(vault, ctx.deps.config, ctx.principal, number, purpose=PURPOSE, now=ctx.now)
        return len(found), consultations(vault.audit, [r.id for r in found])

    count, withheld = await ctx.deps.db.run(read)
    return ctx.page(
        "access.html", recording="", internal=[], withheld=withheld, subject=True, found=count,
    )  # fmt: skip


ROUTES = [
    Route("/access", access_log, methods=["GET"]),
    Route("/access/subject", subject_report, methods=["POST"]),
]

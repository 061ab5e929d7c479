"""Audio for the player: HTTP Range from the sealed store, the waveform peaks, fresh tickets.

===================================  =========================================================
``GET  /calls/{id}/audio?t=TICKET``  the WAV (200, or 206 for ``Range: bytes=a-b``, ``a-``,
                                     ``-n``; 416 outside the file), ``Cache-Control: no-store``
``GET  /calls/{id}/peaks?t=TICKET``  per-channel waveform peaks as JSON (``peaks``)
``POST /calls/{id}/ticket``          a fresh ticket (the page's expires), JSON
===================================  =========================================================

Every audio and peaks request is a playback: the ticket is verified for the session's user
and this recording, then :func:`recorder.grants.open_granted_playback` decides again and
commits its ``recording.play`` entry *before* the first byte is read (a forged, expired or
someone else's ticket is refused and audited the same way). The decision picks the
artefact; this module only slices the WAV file it is handed
(:meth:`recorder.playback.Playback.read_bytes`), so only the segments a seek needs are
decrypted, and the bytes are drained off the database thread.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from recorder.errors import AccessDenied
from recorder.grants import issue_grant, open_granted_playback
from recorder.playback import ByteRange
from recorder.wavfmt import HEADER_SIZE
from recorder.web.ui.handlers import Ctx, signed_in
from recorder.web.ui.pages_calls import checked_purpose, play_purpose
from recorder.web.ui.peaks import peaks
from storage.qa import CatalogAssignments
from storage.vault import Vault


def _ticket(request: Request) -> str:
    return str(request.query_params.get("t", ""))


def _refused(exc: AccessDenied) -> Response:
    return Response(f"refused: {exc.reason}\n", status_code=403, media_type="text/plain")


@signed_in
async def waveform(ctx: Ctx) -> Response:
    """The waveform's peaks, computed from the audio the ticket may play."""
    deps, rid, token = ctx.deps, str(ctx.request.path_params["rid"]), _ticket(ctx.request)

    def open_(vault: Vault) -> tuple[int, int, int, ByteRange]:
        playback = open_granted_playback(
            vault, deps.config, ctx.principal, rid, token, now=ctx.now,
            assignments=CatalogAssignments(vault.catalog),
        )  # fmt: skip
        chunks = playback.read_bytes(HEADER_SIZE, max(HEADER_SIZE, playback.size - 1))
        return playback.fmt.channels, playback.fmt.sample_rate, playback.frames, chunks

    try:
        channels, rate, frames, chunks = await deps.db.run(open_)
    except AccessDenied as exc:
        return _refused(exc)
    try:
        result = await run_in_threadpool(peaks, chunks, channels=channels, frames=frames)
    finally:
        chunks.close()
    return JSONResponse(
        {"duration": frames / rate, "channels": channels, "peaks": result},
        headers={"Cache-Control": "no-store"},
    )


@signed_in
async def ticket(ctx: Ctx) -> Response:
    """A fresh ticket for the player (decided and audited like the page's)."""
    deps, rid = ctx.deps, str(ctx.request.path_params["rid"])
    form = await ctx.form()
    raw = form.get("purpose")
    purpose = checked_purpose(deps, raw) or play_purpose(ctx.principal)
    ttl = deps.settings.ticket_ttl
    try:
        token = await deps.db.run(
            lambda v: issue_grant(
                v,
                deps.config,
                ctx.principal,
                rid,
                now=ctx.now,
                purpose=purpose,
                ttl=ttl,
                assignments=CatalogAssignments(v.catalog),
            )  # fmt: skip
        )
    except AccessDenied as exc:
        return _refused(exc)
    return JSONResponse(
        {
            "audio": f"/calls/{rid}/audio?t={token}",
            "peaks": f"/calls/{rid}/peaks?t={token}",
            "expires_in": int(ttl.total_seconds()),
        },
        headers={"Cache-Control": "no-store"},
    )


ROUTES = [
    Route("/calls/{rid:str}/peaks", waveform, methods=["GET"]),
    Route("/calls/{rid:str}/ticket", ticket, methods=["POST"]),
]

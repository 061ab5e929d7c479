"""The Calls list, the number search, the Call page and its summary approve / edit.

=========================================  ==================================================
``GET  /calls``                            the calls the user may list (``recorder.listing``),
                                           filters agent/team/dates/topic/masked, paged,
                                           newest first; htmx swaps the table only
``POST /calls/search``                     DPO/legal: by the caller's full number (POST, so
                                           the number is never in a URL or a log line)
``GET  /calls/{id}``                       the Call page (:mod:`recorder.web.ui.call_view`)
``POST /calls/{id}/summary/approve``       :func:`recorder.ai_review.approve_summary`
``POST /calls/{id}/summary/edit``          :func:`recorder.ai_review.edit_summary` (diff kept)
=========================================  ==================================================

``purpose`` (a query or form field) is the reason given for the visit; it defaults per
role (``legal``, ``dsar`` for the DPO, else ``quality`` to play and none to list) and must
be a configured purpose code.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from recorder.access import Principal
from recorder.ai_review import approve_summary, edit_summary
from recorder.errors import InvalidEvent
from recorder.listing import CallFilter, list_calls, masked_pattern, parse_when
from recorder.web.ui import call_view
from recorder.web.ui.handlers import Ctx, Deps, is_htmx, signed_in
from storage.qa import CatalogAssignments

_FILTERS = ("agent", "team", "since", "until", "topic", "masked")
_MAX_FIELD = 64


def list_purpose(principal: Principal) -> str | None:
    """The purpose a listing is made with by default (DPO and legal must give one)."""
    if "legal" in principal.roles:
        return "legal"
    return "dsar" if "dpo" in principal.roles else None


def play_purpose(principal: Principal) -> str:
    """The purpose a visit to a call is made with by default."""
    return list_purpose(principal) or "quality"


def checked_purpose(deps: Deps, value: object) -> str | None:
    """A purpose from a request (None when blank); it must be a configured purpose code."""
    if not isinstance(value, str) or not value.strip():
        return None
    purpose = value.strip()
    if purpose not in deps.config.purposes:
        raise InvalidEvent("purpose: not one of the configured purpose codes")
    return purpose


def _field(params: Any, name: str) -> str | None:
    value = params.get(name)
    if not isinstance(value, str) or not value.strip():
        return None
    if len(value) > _MAX_FIELD:
        raise InvalidEvent(f"{name}: too long")
    return value.strip()


def _page_number(value: str | None) -> int:
    if value is None:
        return 1
    if not value.isdigit() or not 1 <= int(value) <= 100_000:
        raise InvalidEvent("page: expected a page number")
    return int(value)


def _filter(request: Request) -> tuple[CallFilter, dict[str, str]]:
    raw = {name: _field(request.query_params, name) for name in _FILTERS}
    wanted = CallFilter(
        agent=raw["agent"],
        team=raw["team"],
        since=parse_when(raw["since"], "since", end=False),
        until=parse_when(raw["until"], "until", end=True),
        masked=masked_pattern(raw["masked"]),
        topic=raw["topic"],
    )
    return wanted, {k: v for k, v in raw.items() if v is not None}


async def _listing(ctx: Ctx, wanted: CallFilter, purpose: str | None, **page: Any) -> Response:
    deps = ctx.deps
    rows = await deps.db.run(
        lambda v: list_calls(
            v,
            deps.config,
            ctx.principal,
            wanted,
            now=ctx.now,
            purpose=purpose,
            assignments=CatalogAssignments(v.catalog),
        )  # fmt: skip
    )
    rows.reverse()  # newest first
    size = deps.settings.page_size
    number = page.pop("number", 1)
    pages = max(1, -(-len(rows) // size))
    shown = rows[(number - 1) * size : number * size]
    context = dict(
        rows=shown, total=len(rows), page=number, pages=pages, purpose=purpose or "",
        purposes=sorted(deps.config.purposes), topics=deps.topics,
        teams=sorted(deps.config.teams),
        query={**page.get("given", {}), **({"purpose": purpose} if purpose else {})}, **page,
    )  # fmt: skip
    if is_htmx(ctx.request) and ctx.request.headers.get("hx-target") == "calls-table":
        return ctx.page("_calls_table.html", **context)
    return ctx.page("calls.html", **context)


@signed_in
async def calls(ctx: Ctx) -> Response:
    """The Calls list."""
    wanted, given = _filter(ctx.request)
    purpose = checked_purpose(ctx.deps, ctx.request.query_params.get("purpose"))
    purpose = purpose or list_purpose(ctx.principal)
    number = _page_number(ctx.request.query_params.get("page"))
    return await _listing(ctx, wanted, purpose, number=number, given=given, searched=False)


@signed_in
async def search(ctx: Ctx) -> Response:
    """DPO / legal: the calls of one caller, by their full number (never in the URL)."""
    form = await ctx.form()
    number = form.get("number")
    if not isinstance(number, str) or not number.strip() or len(number) > _MAX_FIELD:
        raise InvalidEvent("number: give the caller's number")
    purpose = checked_purpose(ctx.deps, form.get("purpose")) or list_purpose(ctx.principal)
    wanted = replace(CallFilter(), number=number)
    return await _listing(ctx, wanted, purpose, number=1, given={}, searched=True)


def _rid(request: Request) -> str:
    return str(request.path_params["rid"])


@signed_in
async def call_page(ctx: Ctx) -> Response:
    """The Call page: player, redacted transcript, topics, AI summary."""
    deps, rid = ctx.deps, _rid(ctx.request)
    purpose = checked_purpose(deps, ctx.request.query_params.get("purpose"))
    purpose = purpose or play_purpose(ctx.principal)
    view = await deps.db.run(
        lambda v: call_view.gather(
            v,
            deps.config,
            ctx.principal,
            rid,
            purpose=purpose,
            now=ctx.now,
            ticket_ttl=deps.settings.ticket_ttl,
        )  # fmt: skip
    )
    return ctx.page(
        "call.html", view=view, purposes=sorted(deps.config.purposes), review=None,
        criteria=(), scorecard=None,
    )  # fmt: skip


async def _summary_answer(ctx: Ctx, rid: str, view: Any, purpose: str | None) -> Response:
    if is_htmx(ctx.request):
        return ctx.page("_summary.html", summary=view, rid=rid, may_approve=True,
                        purpose=purpose or "", refused=None)  # fmt: skip
    return RedirectResponse(f"/calls/{rid}?purpose={purpose or ''}", status_code=303)


async def _form_purpose(ctx: Ctx) -> str | None:
    return checked_purpose(ctx.deps, (await ctx.form()).get("purpose"))


@signed_in
async def approve(ctx: Ctx) -> Response:
    """Approve the AI draft summary as it stands (P14)."""
    deps, rid = ctx.deps, _rid(ctx.request)
    purpose = await _form_purpose(ctx)
    view = await deps.db.run(
        lambda v: approve_summary(v, deps.config, ctx.principal, rid, now=ctx.now, purpose=purpose)
    )
    return await _summary_answer(ctx, rid, view, purpose)


@signed_in
async def edit(ctx: Ctx) -> Response:
    """Replace the AI draft with the reviewer's text; the diff from the draft is kept."""
    deps, rid = ctx.deps, _rid(ctx.request)
    purpose = await _form_purpose(ctx)
    text = (await ctx.form()).get("text")
    if not isinstance(text, str):
        raise InvalidEvent("text: give the summary text")
    view = await deps.db.run(
        lambda v: edit_summary(
            v,
            deps.config,
            ctx.principal,
            rid,
            text,
            now=ctx.now,
            rng=deps.rng,
            languages=deps.ai_languages,
            purpose=purpose,
        )  # fmt: skip
    )
    return await _summary_answer(ctx, rid, view, purpose)


ROUTES = [
    Route("/calls", calls, methods=["GET"]),
    Route("/calls/search", search, methods=["POST"]),
    Route("/calls/{rid:str}", call_page, methods=["GET"]),
    Route("/calls/{rid:str}/summary/approve", approve, methods=["POST"]),
    Route("/calls/{rid:str}/summary/edit", edit, methods=["POST"]),
]

"""The QA reviewer's desk: the queue, the review page with the scorecard, submit-and-next.

=================================  ===========================================================
``GET  /review``                   :meth:`recorder.qa.Review.assignments` (``qa.assignments``)
``POST /review/next``              :meth:`Review.next` (``qa.review.next``) → that call's page
``GET  /review/{id}``              the call (as on the Call page, decided for the reviewer's
                                   QA role only, purpose ``quality``) and the scorecard of
                                   ``[qa]``: weights, N/A where allowed, critical questions
``POST /review/{id}/score``        :meth:`Review.score` (``qa.score``), then the next call
=================================  ===========================================================

A reviewer cannot reach a call that was not sampled to them, by the queue or by URL: the
page is decided with :func:`recorder.qa.qa_principal` (a reviewer who is also a supervisor
does not wander into team calls through QA), so every part is refused and the page is a
403; a score for it is refused and audited by :meth:`Review.score`.
"""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from recorder.qa import PURPOSE, Review, qa_principal
from recorder.web.ui import call_view
from recorder.web.ui.handlers import Ctx, signed_in
from storage.qa import QaStore
from storage.vault import Vault


def _desk(ctx: Ctx, vault: Vault) -> Review:
    return Review(vault, ctx.deps.config, ctx.principal, rng=ctx.deps.rng)


def _next_target(card_id: str | None) -> str:
    return "/review?done=1" if card_id is None else f"/review/{card_id}"


@signed_in
async def queue(ctx: Ctx) -> Response:
    """The calls sampled to the reviewer, in review order."""
    cards = await ctx.deps.db.run(lambda v: _desk(ctx, v).assignments(now=ctx.now))
    return ctx.page(
        "review_queue.html", cards=cards, done=ctx.request.query_params.get("done") == "1",
        left=sum(not c.scored for c in cards),
    )  # fmt: skip


@signed_in
async def next_call(ctx: Ctx) -> Response:
    """Open (or resume) the session and go to the call to review now."""
    card = await ctx.deps.db.run(lambda v: _desk(ctx, v).next(now=ctx.now))
    return RedirectResponse(_next_target(None if card is None else card.recording_id), 303)


@signed_in
async def review_page(ctx: Ctx) -> Response:
    """One assigned call with its scorecard."""
    deps, rid = ctx.deps, str(ctx.request.path_params["rid"])
    reviewer = qa_principal(ctx.principal)

    def gather(vault: Vault) -> tuple[call_view.CallView, dict[str, int | None] | None, str]:
        view = call_view.gather(
            vault, deps.config, reviewer, rid, purpose=PURPOSE, now=ctx.now,
            ticket_ttl=deps.settings.ticket_ttl,
        )  # fmt: skip
        card = QaStore(vault.catalog).scorecard(reviewer.user_id, rid)
        return (
            view,
            None if card is None else dict(card.scores),
            "" if card is None else card.comment,
        )

    view, scores, comment = await deps.db.run(gather)
    return ctx.page(
        "call.html", view=view, purposes=[PURPOSE], review=True, criteria=deps.qa.criteria,
        scorecard=scores, comment=comment, comment_max=deps.qa.comment_max,
    )  # fmt: skip


@signed_in
async def score(ctx: Ctx) -> Response:
    """Save the scorecard, then move to the next call of the queue."""
    deps, rid = ctx.deps, str(ctx.request.path_params["rid"])
    form = await ctx.form()
    raw = {c.name: str(form.get(f"score_{c.name}") or "") for c in deps.qa.criteria}
    scores = deps.qa.parse_scores(raw)
    comment = str(form.get("comment") or "")

    def save(vault: Vault) -> str | None:
        desk = _desk(ctx, vault)
        desk.score(rid, scores, comment=comment, now=ctx.now)
        card = desk.next(now=ctx.now)
        return None if card is None else card.recording_id

    return RedirectResponse(_next_target(await deps.db.run(save)), 303)


ROUTES = [
    Route("/review", queue, methods=["GET"]),
    Route("/review/next", next_call, methods=["POST"]),
    Route("/review/{rid:str}", review_page, methods=["GET"]),
    Route("/review/{rid:str}/score", score, methods=["POST"]),
]

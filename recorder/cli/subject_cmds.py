"""``callrec subject``: data-subject find, export, erase, restrict, rectify (issue 8)."""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from recorder import bundle, consultation
from recorder.access import principal_for
from recorder.chat.subjects import SubjectKey
from recorder.cli.app import EXIT_USAGE, Context, cli, fail, run_guarded
from recorder.cli.store_cmds import pass_ctx
from recorder.errors import AccessDenied, InvalidEvent
from recorder.job_retention import erase_jobs
from recorder.subject import (
    ErasureOutcome,
    erase,
    erased_recordings,
    find,
    rectify,
    run_pending_erasures,
    set_restriction,
)
from recorder.subject_export import export
from storage import subjects

_DURATION = re.compile(r"([1-9][0-9]{0,3})([dh])")
MAX_EXPIRY = timedelta(days=365)


def number_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--number`` or, for chats, ``--email`` / ``--customer``: exactly one names the subject.

    The command receives them as one ``number`` argument: the number text, or a
    :class:`SubjectKey` for an e-mail or customer id (issue 17).
    """

    @functools.wraps(f)
    def wrapper(
        *args: Any, number: str | None, email: str | None, customer: str | None, **kw: Any
    ) -> Any:
        if (number is not None) + (email is not None) + (customer is not None) != 1:
            raise click.UsageError("give exactly one of --number, --email, --customer")
        if number is not None:
            return f(*args, number=number, **kw)
        return f(*args, number=SubjectKey(email=email, customer=customer), **kw)

    for option in (
        click.option("--customer", help="Chats only: the logged-in customer's id ('-' = stdin)."),
        click.option("--email", help="Chats only: the contact e-mail given in the chat queue."),
        click.option(
            "--number",
            help="The data subject's phone number, any format (+47 912 34 567). '-' reads it "
            "from stdin, keeping it out of shell history and the process list.",
        ),
    ):
        wrapper = option(wrapper)
    return wrapper


as_option = click.option(
    "--as", "as_user", required=True, help="The user acting (a configured id; the DPO)."
)
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


def _number(value: str | SubjectKey) -> str | SubjectKey:
    if isinstance(value, SubjectKey):
        if value.customer == "-":
            return SubjectKey(customer=sys.stdin.readline().strip())
        return value
    if value == "-":
        return sys.stdin.readline().strip()
    return value


def _expiry(value: str) -> timedelta:
    match = _DURATION.fullmatch(value.strip())
    if match is None:
        raise InvalidEvent("--expires: expected a duration such as 30d or 48h")
    amount = int(match.group(1))
    delta = timedelta(days=amount) if match.group(2) == "d" else timedelta(hours=amount)
    if delta > MAX_EXPIRY:
        raise InvalidEvent("--expires: at most 365d")
    return delta


@cli.group()
def subject() -> None:
    """Data-subject requests (GDPR Art. 15-18): find, export, erase, restrict, rectify.

    \b
    The subject is named by their full phone number, which is only ever used to compute
    the keyed lookup digest; it is never stored, logged or audited. Every request is
    decided (DPO: purpose dsar; legal: purpose legal) and written to the audit log.

    \b
      callrec subject find --number "+47 912 34 567" --as dpo1
      callrec subject export --number "+47 912 34 567" --as dpo1 --purpose dsar \\
          --passphrase-file pass.txt --out subject.bundle --expires 30d
      callrec subject open-bundle subject.bundle --passphrase-file pass.txt --out subject.zip
      callrec subject erase --number "+47 912 34 567" --as dpo1
      callrec subject restrict --number "+47 912 34 567" --as dpo1 --reason "accuracy contested"
      callrec subject rectify ID --agent anna --as dpo1
    """


@subject.command("find")
@number_option
@as_option
@click.option("--purpose", default="dsar", show_default=True, help="dsar (DPO) or legal.")
@json_option
@pass_ctx
def subject_find(
    ctx: Context, number: str | SubjectKey, as_user: str, purpose: str, as_json: bool
) -> None:
    """Every recording of the caller, erased ones (tombstones) included.

    \b
    Example:
      callrec subject find --number "+47 912 34 567" --as dpo1 --json
    """

    def body() -> None:
        config = ctx.config()
        principal = principal_for(config, as_user)
        with ctx.vault() as vault:
            found = find(vault, config, principal, _number(number), purpose=purpose, now=ctx.now())
            erasures = {r.id: subjects.get_erasure(vault.catalog, r.id) for r in found}
        rows: list[dict[str, Any]] = [
            {
                "id": r.id,
                "started_at": r.started_at.isoformat(),
                "duration_ms": r.duration_ms,
                "caller": r.caller_display,
                "state": str(r.state),
                "restricted": r.restricted,
                "legal_hold": r.legal_hold,
                "retention_class": r.retention_class,
                "erasure": None if (e := erasures[r.id]) is None else e.state,
                "receipt": None if e is None else e.receipt,
            }
            for r in found
        ]
        if as_json:
            ctx.out.print_json(json.dumps(rows))
            return
        table = Table("id", "started (UTC)", "duration", "caller", "state", "flags", "erasure")
        for row in rows:
            flags = ", ".join(k for k in ("restricted", "legal_hold") if row[k])
            table.add_row(
                row["id"],
                row["started_at"][:16].replace("T", " "),
                f"{(row['duration_ms'] or 0) / 1000:.0f} s",
                row["caller"],
                row["state"],
                flags,
                row["erasure"] or "",
            )
        ctx.out.print(table)
        ctx.out.print(f"{len(rows)} recording(s) of this caller (search audited).")

    run_guarded(ctx.err, body)


@subject.command("export")
@number_option
@as_option
@click.option("--purpose", required=True, help="dsar (DPO, subject access) or legal (legal).")
@click.option(
    "--out", required=True, type=click.Path(path_type=Path, dir_okay=False), help="Bundle file."
)
@click.option(
    "--passphrase-file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Encrypt to the passphrase in this file (at least 10 bytes; scrypt).",
)
@click.option(
    "--recipient",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Encrypt to this X25519 public key file (see `subject keygen`).",
)
@click.option("--expires", default="30d", show_default=True, help="Lifetime: 30d, 48h (≤ 365d).")
@pass_ctx
def subject_export(
    ctx: Context,
    number: str | SubjectKey,
    as_user: str,
    purpose: str,
    out: Path,
    passphrase_file: Path | None,
    recipient: Path | None,
    expires: str,
) -> None:
    """Write an encrypted bundle of everything held about the caller.

    \b
    Audio (every file verified in full before the first byte is written), reviewed
    summaries, redacted transcripts, metadata (masked number only) and the consultation
    report (dates and purposes of each access; employees withheld). Nothing is written
    if any recording fails verification. Legal exporting with --purpose legal is a
    lawful disclosure, recorded as such.

    \b
    Examples:
      callrec subject export --number "+47 912 34 567" --as dpo1 --purpose dsar \\
          --passphrase-file pass.txt --out subject.bundle
      callrec subject export --number - --as lawyer1 --purpose legal \\
          --recipient authority.pub --out disclosure.bundle --expires 14d < number.txt
    """
    if (passphrase_file is None) == (recipient is None):
        fail(ctx.err, "give exactly one of --passphrase-file or --recipient", EXIT_USAGE)

    def body() -> None:
        lock: bundle.Lock
        if passphrase_file is not None:
            lock = bundle.read_passphrase(passphrase_file)
        elif recipient is not None:
            lock = bundle.read_recipient(recipient)
        else:  # unreachable: checked above
            return
        lifetime = _expiry(expires)
        config = ctx.config()
        principal = principal_for(config, as_user)
        now = ctx.now()
        with ctx.vault() as vault:
            report = export(
                vault,
                config,
                principal,
                _number(number),
                out,
                purpose=purpose,
                lock=lock,
                expires_at=now + lifetime,
                now=now,
                rng=ctx.rng,
            )
        ctx.out.print(
            f"Wrote {out} ({report.bundle.size} bytes, {report.bundle.lock}): "
            f"{report.recordings} recording(s), {report.audio_files} audio, "
            f"{report.transcripts} transcript(s), {report.summaries} summary(ies); "
            f"expires {report.bundle.expires_at.isoformat()}. Export recorded in the audit log.",
            highlight=False,
        )

    run_guarded(ctx.err, body)


@subject.command("open-bundle")
@click.argument("bundle_path", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option(
    "--out", required=True, type=click.Path(path_type=Path, dir_okay=False), help="Zip to write."
)
@click.option("--passphrase-file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option(
    "--identity",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="The recipient's private key file (from `subject keygen`).",
)
@pass_ctx
def subject_open_bundle(
    ctx: Context,
    bundle_path: Path,
    out: Path,
    passphrase_file: Path | None,
    identity: Path | None,
) -> None:
    """Decrypt an export bundle into a zip (refused once it has expired).

    \b
    Example:
      callrec subject open-bundle subject.bundle --passphrase-file pass.txt --out subject.zip
    """
    if (passphrase_file is None) == (identity is None):
        fail(ctx.err, "give exactly one of --passphrase-file or --identity", EXIT_USAGE)

    def body() -> None:
        unlock: bundle.Unlock
        if passphrase_file is not None:
            unlock = bundle.read_passphrase(passphrase_file)
        elif identity is not None:
            unlock = bundle.read_identity(identity)
        else:  # unreachable: checked above
            return
        info = bundle.open_bundle(bundle_path, out, unlock=unlock, now=ctx.now())
        ctx.out.print(
            f"Wrote {out}: {len(info.members)} file(s); bundle made "
            f"{info.created_at.isoformat()}, expires {info.expires_at.isoformat()}.",
            highlight=False,
        )

    run_guarded(ctx.err, body)


@subject.command("keygen")
@click.option("--key", required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--pub", required=True, type=click.Path(path_type=Path, dir_okay=False))
@pass_ctx
def subject_keygen(ctx: Context, key: Path, pub: Path) -> None:
    """Make a recipient key pair: KEY (private, 0600, for the recipient) and PUB.

    \b
    Example (the authority runs it and sends authority.pub to the company):
      callrec subject keygen --key authority.key --pub authority.pub
    """
    run_guarded(ctx.err, lambda: bundle.write_keypair(key, pub, rng=ctx.rng))


def _print_erasures(ctx: Context, outcomes: list[ErasureOutcome], as_json: bool) -> None:
    rows: list[dict[str, Any]] = [
        {
            "recording_id": o.recording_id,
            "status": o.status,
            "receipt": o.receipt,
            "reason": o.reason,
            "artefacts_shredded": o.artefacts,
        }
        for o in outcomes
    ]
    if as_json:
        ctx.out.print_json(json.dumps(rows))
        return
    table = Table("recording", "status", "receipt / reason", "shredded")
    for row in rows:
        table.add_row(
            row["recording_id"],
            row["status"],
            row["receipt"] or row["reason"] or "",
            str(row["artefacts_shredded"]),
        )
    ctx.out.print(table)
    pending = sum(1 for o in outcomes if o.status == "pending")
    ctx.out.print(
        f"{len(outcomes) - pending} erased or already erased, {pending} pending "
        "(done automatically once the hold, restriction or MIN period lifts)."
    )


@subject.command("erase")
@click.option("--number", help="The subject's number ('-' = stdin). Omit with --pending.")
@click.option("--email", help="Chats only: the contact e-mail given in the chat queue.")
@click.option("--customer", help="Chats only: the logged-in customer's id.")
@as_option
@click.option("--pending", is_flag=True, help="Finish pending erasures that are now allowed.")
@json_option
@pass_ctx
def subject_erase(
    ctx: Context,
    number: str | None,
    email: str | None,
    customer: str | None,
    as_user: str,
    pending: bool,
    as_json: bool,
) -> None:
    """Erase (crypto-shred) every recording of the caller, with a receipt per recording.

    \b
    Refused per recording, with the reason, while a legal hold, a MIN retention class
    or a restriction applies: the request is then recorded as pending and carried out
    when it lifts (`--pending`). Running it again is harmless:
    the first receipt stands.

    \b
    Examples:
      callrec subject erase --number "+47 912 34 567" --as dpo1
      callrec subject erase --pending --as dpo1
    """
    named = [v for v in (number, email, customer) if v is not None]
    if len(named) > 1 or bool(named) == pending:
        fail(ctx.err, "give one of --number, --email, --customer, or --pending alone", EXIT_USAGE)
    subject_key: str | SubjectKey | None = number
    if email is not None or customer is not None:
        subject_key = SubjectKey(email=email, customer=customer)

    def body() -> None:
        config = ctx.config()
        principal = principal_for(config, as_user)
        with ctx.vault() as vault:
            if subject_key is not None:
                outcomes = erase(
                    vault, config, principal, _number(subject_key), now=ctx.now(), rng=ctx.rng
                )
            else:
                if "dpo" not in principal.roles:
                    raise AccessDenied("only the DPO may run pending erasures")
                outcomes = run_pending_erasures(
                    vault, config, now=ctx.now(), rng=ctx.rng, actor=principal
                )
                waiting = len(subjects.pending_erasures(vault.catalog))
                if not as_json:
                    ctx.out.print(
                        f"{waiting} erasure(s) still waiting for a hold, restriction "
                        "or MIN period to lift."
                    )
            erase_jobs(ctx.paths.home, erased_recordings(vault, outcomes))  # their jobs too
        _print_erasures(ctx, outcomes, as_json)

    run_guarded(ctx.err, body)


def _restriction(
    ctx: Context, number: str | SubjectKey, as_user: str, reason: str, on: bool
) -> None:
    config = ctx.config()
    principal = principal_for(config, as_user)
    with ctx.vault() as vault:
        changed = set_restriction(
            vault, config, principal, _number(number), restricted=on, reason=reason, now=ctx.now()
        )
    verb = "Restricted" if on else "Lifted the restriction on"
    ctx.out.print(f"{verb} {len(changed)} recording(s) (audited).")
    for rid in changed:
        ctx.out.print(f"  {rid}")


@subject.command("restrict", short_help="Restrict the caller's recordings (GDPR Art 18).")
@number_option
@as_option
@click.option("--reason", required=True, help="Why (no numbers), e.g. 'accuracy contested'.")
@pass_ctx
def subject_restrict(ctx: Context, number: str | SubjectKey, as_user: str, reason: str) -> None:
    """Art. 18 restriction: no play (except legal with a purpose), no AI, no deletion.

    \b
    Example:
      callrec subject restrict --number "+47 912 34 567" --as dpo1 --reason "accuracy contested"
    """
    run_guarded(ctx.err, lambda: _restriction(ctx, number, as_user, reason, True))


@subject.command("unrestrict", short_help="Lift a restriction (GDPR Art 18).")
@number_option
@as_option
@click.option("--reason", required=True, help="Why the restriction is lifted.")
@pass_ctx
def subject_unrestrict(ctx: Context, number: str | SubjectKey, as_user: str, reason: str) -> None:
    """Lift an Art. 18 restriction (pending erasures then proceed at the next run).

    \b
    Example:
      callrec subject unrestrict --number "+47 912 34 567" --as dpo1 --reason "verified"
    """
    run_guarded(ctx.err, lambda: _restriction(ctx, number, as_user, reason, False))


@subject.command("rectify", short_help="Correct a recording's metadata (GDPR Art 16).")
@click.argument("recording_id")
@click.option("--agent", help="The agent who really took the call (a configured user id).")
@click.option("--service-number", help="The number the customer really called.")
@as_option
@pass_ctx
def subject_rectify(
    ctx: Context, recording_id: str, agent: str | None, service_number: str | None, as_user: str
) -> None:
    """Art. 16 rectification of a recording's metadata; the audio is never changed.

    \b
    Each changed field is logged with its old and new value and audited.
    Example:
      callrec subject rectify 3f2a...e9 --agent bjorn --service-number "+47 22 00 00 00" --as dpo1
    """

    def body() -> None:
        config = ctx.config()
        principal = principal_for(config, as_user)
        with ctx.vault() as vault:
            done = rectify(
                vault,
                config,
                principal,
                recording_id.strip().lower(),
                agent=agent,
                service_number=service_number,
                now=ctx.now(),
            )
        if not done:
            ctx.out.print("Nothing changed (the values were already as given).")
        for change in done:
            ctx.out.print(f"Rectified {change.field} (audited).", highlight=False)

    run_guarded(ctx.err, body)


@subject.command("consultations")
@number_option
@as_option
@click.option("--purpose", default="dsar", show_default=True, help="dsar (DPO) or legal.")
@click.option(
    "--show-actors",
    is_flag=True,
    help="Show who acted (the DPO's internal view); by default roles only.",
)
@json_option
@pass_ctx
def subject_consultations(
    ctx: Context,
    number: str | SubjectKey,
    as_user: str,
    purpose: str,
    show_actors: bool,
    as_json: bool,
) -> None:
    """Dates and purposes of every access to the caller's recordings (Art. 15).

    \b
    Employees are shown by role only, as the subject receives it (CJEU C-579/21);
    --show-actors adds user ids for the DPO's own investigation. The same report is
    inside every export bundle.
    Example:
      callrec subject consultations --number "+47 912 34 567" --as dpo1
    """

    def body() -> None:
        config = ctx.config()
        principal = principal_for(config, as_user)
        with ctx.vault() as vault:
            found = find(vault, config, principal, _number(number), purpose=purpose, now=ctx.now())
            rows = consultation.as_dicts(
                consultation.consultations(
                    vault.audit, [r.id for r in found], withhold_actors=not show_actors
                )
            )
        if as_json:
            ctx.out.print_json(json.dumps(rows))
            return
        table = Table("time (UTC)", "recording", "action", "purpose", "outcome", "role", "actor")
        for row in rows:
            table.add_row(
                row["at"][:19].replace("T", " "),
                row["recording_id"],
                row["action"],
                row["purpose"] or "",
                row["outcome"],
                row["role"],
                row.get("actor", "(withheld)"),
            )
        ctx.out.print(table)
        ctx.out.print(f"{len(rows)} consultation(s) of {len(found)} recording(s).")

    run_guarded(ctx.err, body)

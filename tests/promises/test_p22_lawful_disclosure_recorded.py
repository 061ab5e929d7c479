"""P22 - "Disclosure to public authorities or the financial complaints board happens on
lawful request, and is recorded." (bank)

How these tests prove it
------------------------
A disclosure is an export by the ``legal`` role with purpose ``legal``, encrypted to the
authority's own key. On the sample calls in a real store, with the demo org chart plus a
lawyer (``lawyer1``, role legal):

- the authority makes a key pair (``callrec subject keygen``) and sends its public key;
- ``callrec subject export --as lawyer1 --purpose legal --recipient authority.pub``
  writes the bundle; only the authority's private key opens it (the DPO's passphrase
  route and a stranger's key do not);
- the audit log records the disclosure: who (lawyer1, legal), which recording, the purpose
  ``legal``, allowed, and the bundle's creation with its id and expiry; the chain verifies;
- without a lawful purpose (``--purpose quality``) or by a role that may not disclose
  (an agent, a supervisor), it is refused (exit 3), audited, and nothing is written.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from recorder.cli import cli
from tests.promises.conftest import SAMPLE_CONFIG, CliRun, SampleStore

NUMBER = "+46 70 123 45 67"  # call-03


@pytest.fixture
def legal_cli(store: SampleStore, tmp_path: Path, cli_run: CliRun) -> CliRun:
    """The CLI on the same store, with the demo org chart plus lawyer1 (role legal)."""
    config = tmp_path / "with-legal.toml"
    config.write_text(
        SAMPLE_CONFIG.read_text() + '\n[[users]]\nid = "lawyer1"\nroles = ["legal"]\n'
    )
    base = ["--home", str(store.home), "--keyring", str(store.keyring), "--config", str(config)]

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, [*base, *args], catch_exceptions=False)

    return run


def test_disclosure_by_legal_is_recorded(
    store: SampleStore, legal_cli: CliRun, tmp_path: Path
) -> None:
    key, pub = tmp_path / "authority.key", tmp_path / "authority.pub"
    assert legal_cli("subject", "keygen", "--key", str(key), "--pub", str(pub)).exit_code == 0
    out = tmp_path / "disclosure.bundle"
    before = store.audit_size()
    result = legal_cli(
        "subject",
        "export",
        "--number",
        NUMBER,
        "--as",
        "lawyer1",
        "--purpose",
        "legal",
        "--recipient",
        str(pub),
        "--out",
        str(out),
        "--expires",
        "14d",
    )
    assert result.exit_code == 0, result.output
    events = [e.event for e in store.audit_since(before)]
    assert [
        (e.action, e.actor_id, e.actor_role, e.purpose, e.outcome, e.recording_id) for e in events
    ] == [
        ("subject.export", "lawyer1", "legal", "legal", "allowed", store.ids["call-03"]),
        ("subject.export.bundle", "lawyer1", "legal", "legal", "ok", None),
    ]
    assert events[1].detail["lock"] == "x25519" and events[1].detail["recordings"] == 1
    store.vault.audit.verify()
    opened = tmp_path / "opened.zip"
    assert (
        legal_cli(
            "subject", "open-bundle", str(out), "--identity", str(key), "--out", str(opened)
        ).exit_code
        == 0
    )
    stranger_key, stranger_pub = tmp_path / "s.key", tmp_path / "s.pub"
    legal_cli("subject", "keygen", "--key", str(stranger_key), "--pub", str(stranger_pub))
    refused = legal_cli(
        "subject",
        "open-bundle",
        str(out),
        "--identity",
        str(stranger_key),
        "--out",
        str(tmp_path / "no.zip"),
    )
    assert refused.exit_code == 1 and not (tmp_path / "no.zip").exists()


@pytest.mark.parametrize(
    ("user", "purpose"), [("lawyer1", "quality"), ("anna", "legal"), ("siri", "legal")]
)
def test_no_disclosure_without_lawful_purpose_and_role(
    store: SampleStore, legal_cli: CliRun, tmp_path: Path, user: str, purpose: str
) -> None:
    key, pub = tmp_path / "authority.key", tmp_path / "authority.pub"
    legal_cli("subject", "keygen", "--key", str(key), "--pub", str(pub))
    out = tmp_path / "disclosure.bundle"
    before = store.audit_size()
    result = legal_cli(
        "subject",
        "export",
        "--number",
        NUMBER,
        "--as",
        user,
        "--purpose",
        purpose,
        "--recipient",
        str(pub),
        "--out",
        str(out),
    )
    assert result.exit_code == 3, result.output
    assert not out.exists()
    (entry,) = store.audit_since(before)
    assert (entry.event.action, entry.event.actor_id, entry.event.outcome) == (
        "subject.export",
        user,
        "denied",
    )

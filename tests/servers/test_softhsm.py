"""The SoftHSM2 harness gives a real PKCS#11 token: a non-extractable AES key that wraps
and unwraps a 32-byte data key inside the token.

Wrap mechanisms SoftHSM 2.6.1 accepts for C_WrapKey/C_UnwrapKey with an AES key, as these
tests pin them: CKM_AES_KEY_WRAP (RFC 3394) and CKM_AES_KEY_WRAP_PAD (RFC 5649), both ways.
CKM_AES_GCM is encrypt/decrypt only (wrapping with it: CKR_MECHANISM_INVALID), so an
AES-GCM "wrap" means C_Encrypt of key bytes the caller holds; CKM_AES_CBC wraps but cannot
unwrap; ECB and CBC_PAD cannot wrap. RSA_PKCS and RSA_PKCS_OAEP wrap with RSA keys.
"""

from __future__ import annotations

import os
from typing import Any

import pkcs11
import pytest
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass

from tests.servers._process import HarnessError
from tests.servers.softhsm import SoftHSM, TokenInfo

DATA_KEY = bytes(range(32))

KEK_TEMPLATE: dict[Attribute, Any] = {
    Attribute.TOKEN: True,  # kept in the token across sessions
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,  # never leaves the token, not even wrapped
    Attribute.WRAP: True,
    Attribute.UNWRAP: True,
    Attribute.ENCRYPT: True,
    Attribute.DECRYPT: True,
}
#: The data key must come out in clear (the software cipher uses it), so it is extractable.
DATA_KEY_TEMPLATE: dict[Attribute, Any] = {
    Attribute.TOKEN: False,
    Attribute.SENSITIVE: False,
    Attribute.EXTRACTABLE: True,
}


# python-pkcs11's stubs declare SecretKey without its wrap/encrypt mixins: keys are Any here.
def _import_data_key(session: pkcs11.Session, value: bytes) -> Any:
    key = session.create_object(
        {
            Attribute.CLASS: ObjectClass.SECRET_KEY,
            Attribute.KEY_TYPE: KeyType.AES,
            Attribute.VALUE: value,
            **DATA_KEY_TEMPLATE,
        }
    )
    assert isinstance(key, pkcs11.SecretKey)
    return key


@pytest.mark.parametrize(
    "mechanism", [Mechanism.AES_KEY_WRAP, Mechanism.AES_KEY_WRAP_PAD], ids=lambda m: m.name
)
def test_non_extractable_kek_wraps_and_unwraps_a_data_key_in_the_token(
    softhsm: SoftHSM, hsm_token: TokenInfo, mechanism: Mechanism
) -> None:
    """The KEK's value cannot be read or wrapped out; the wrapped data key unwraps to the
    same 32 bytes, in the token; a flipped bit in the wrapped key is refused."""
    token = softhsm.token(hsm_token.label)
    with token.open(user_pin=hsm_token.pin, rw=True) as session:
        kek: Any = session.generate_key(KeyType.AES, 256, label="kek", template=KEK_TEMPLATE)
        assert kek[Attribute.EXTRACTABLE] is False
        assert kek[Attribute.NEVER_EXTRACTABLE] is True
        with pytest.raises(pkcs11.AttributeSensitive):
            kek[Attribute.VALUE]
        with pytest.raises(pkcs11.KeyUnextractable):
            kek.wrap_key(kek, mechanism=mechanism)

        wrapped = kek.wrap_key(_import_data_key(session, DATA_KEY), mechanism=mechanism)
        assert len(wrapped) == 40 and DATA_KEY not in wrapped
        unwrapped = kek.unwrap_key(
            ObjectClass.SECRET_KEY,
            KeyType.AES,
            wrapped,
            mechanism=mechanism,
            template=DATA_KEY_TEMPLATE,
        )
        assert unwrapped[Attribute.VALUE] == DATA_KEY

        tampered = bytearray(wrapped)
        tampered[5] ^= 1
        with pytest.raises(pkcs11.PKCS11Error):  # SoftHSM says CKR_GENERAL_ERROR here
            kek.unwrap_key(
                ObjectClass.SECRET_KEY,
                KeyType.AES,
                bytes(tampered),
                mechanism=mechanism,
                template=DATA_KEY_TEMPLATE,
            )


def test_kek_persists_in_the_token_across_sessions_and_reloads(
    softhsm: SoftHSM, hsm_token: TokenInfo
) -> None:
    """A token object made in one session is found by label in the next, after the
    module is re-initialised, and still unwraps what it wrapped."""
    token = softhsm.token(hsm_token.label)
    with token.open(user_pin=hsm_token.pin, rw=True) as session:
        kek: Any = session.generate_key(KeyType.AES, 256, label="kek-1", template=KEK_TEMPLATE)
        wrapped = kek.wrap_key(
            _import_data_key(session, DATA_KEY), mechanism=Mechanism.AES_KEY_WRAP_PAD
        )
    softhsm.lib().reinitialize()
    token = softhsm.token(hsm_token.label)
    with token.open(user_pin=hsm_token.pin) as session:
        found: Any = session.get_key(ObjectClass.SECRET_KEY, KeyType.AES, label="kek-1")
        key = found.unwrap_key(
            ObjectClass.SECRET_KEY,
            KeyType.AES,
            wrapped,
            mechanism=Mechanism.AES_KEY_WRAP_PAD,
            template=DATA_KEY_TEMPLATE,
        )
        assert key[Attribute.VALUE] == DATA_KEY


def test_which_mechanisms_wrap(softhsm: SoftHSM, hsm_token: TokenInfo) -> None:
    """AES-GCM encrypts key bytes (with a tag) but is no wrap mechanism; CBC wraps one way."""
    token = softhsm.token(hsm_token.label)
    with token.open(user_pin=hsm_token.pin, rw=True) as session:
        kek: Any = session.generate_key(
            KeyType.AES, 256, template={**KEK_TEMPLATE, Attribute.TOKEN: False}
        )
        data_key = _import_data_key(session, DATA_KEY)
        iv = os.urandom(12)
        params = pkcs11.GCMParams(iv, b"callrec-kek-v1")
        sealed = kek.encrypt(DATA_KEY, mechanism=Mechanism.AES_GCM, mechanism_param=params)
        assert len(sealed) == 32 + 16
        assert kek.decrypt(sealed, mechanism=Mechanism.AES_GCM, mechanism_param=params) == DATA_KEY
        with pytest.raises(pkcs11.PKCS11Error):
            kek.decrypt(
                sealed,
                mechanism=Mechanism.AES_GCM,
                mechanism_param=pkcs11.GCMParams(iv, b"another context"),
            )

        with pytest.raises(pkcs11.MechanismInvalid):
            kek.wrap_key(data_key, mechanism=Mechanism.AES_GCM, mechanism_param=params)
        cbc_iv = os.urandom(16)
        wrapped = kek.wrap_key(data_key, mechanism=Mechanism.AES_CBC, mechanism_param=cbc_iv)
        with pytest.raises(pkcs11.MechanismInvalid):
            kek.unwrap_key(
                ObjectClass.SECRET_KEY,
                KeyType.AES,
                wrapped,
                mechanism=Mechanism.AES_CBC,
                mechanism_param=cbc_iv,
            )
        for mechanism in (Mechanism.AES_ECB, Mechanism.AES_CBC_PAD):
            with pytest.raises(pkcs11.MechanismInvalid):
                kek.wrap_key(
                    data_key,
                    mechanism=mechanism,
                    mechanism_param=cbc_iv if mechanism is Mechanism.AES_CBC_PAD else None,
                )
    listed = set(token.slot.get_mechanisms())
    assert {Mechanism.AES_KEY_WRAP, Mechanism.AES_KEY_WRAP_PAD, Mechanism.AES_GCM} <= listed


def test_default_token_and_wrong_pin(softhsm: SoftHSM) -> None:
    """The session's token is there with its PIN; a wrong PIN is refused."""
    assert os.environ["SOFTHSM2_CONF"] == str(softhsm.conf_path)
    token = softhsm.token(softhsm.default.label)
    assert token.label == "callrec"
    with pytest.raises(pkcs11.PinIncorrect):
        token.open(user_pin="0" * 8)
    with token.open(user_pin=softhsm.default.pin) as session:
        assert session.generate_random(256) != session.generate_random(256)


def test_missing_module_fails_naming_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """No SoftHSM2 module: a HarnessError naming the Debian package, never a skip."""
    monkeypatch.setenv("CALLREC_PKCS11_MODULE", "/nonexistent/libsofthsm2.so")
    with pytest.raises(HarnessError, match="Debian package `softhsm2`"):
        SoftHSM()

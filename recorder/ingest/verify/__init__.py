"""Webhook signature verifiers: pure functions over raw body bytes + headers.

No HTTP framework here (ARCHITECTURE.md §1): ``recorder/web/`` hands each verifier the
raw body, the headers and, for Twilio, the raw request target; time comes in as ``now``.
Every verifier returns a small frozen record or raises :class:`~recorder.errors.BadSignature`
(→ 401/403) or :class:`~recorder.errors.MalformedRequest` (→ 400, or 413 when
``too_large``), and nothing else, for any input. Comparisons are constant-time; secrets
are :class:`Secret` and never appear in a repr or an error message.

Verification does not deduplicate: a replayed delivery verifies again (Twilio signs no
timestamp at all); the job table's unique key makes the effect happen once.

==================  ====================================  =============================
scheme              function                              config
==================  ====================================  =============================
Twilio              :func:`verify_twilio`                 :class:`TwilioConfig`
Telnyx              :func:`verify_telnyx`                 :class:`TelnyxConfig`
Standard Webhooks   :func:`verify_standard_webhook`,      :class:`StandardWebhooksConfig`
                    :func:`begin_standard_webhook`
signed upload       :func:`begin_upload` (headers first)  :class:`StandardWebhooksConfig`
==================  ====================================  =============================
"""

from __future__ import annotations

from recorder.ingest.verify._common import TOLERANCE, HeaderInput, Limits, Secret
from recorder.ingest.verify.standard import (
    StandardDelivery,
    StandardWebhooksConfig,
    StandardWebhookStream,
    begin_standard_webhook,
    verify_standard_webhook,
)
from recorder.ingest.verify.telnyx import TelnyxConfig, TelnyxDelivery, verify_telnyx
from recorder.ingest.verify.twilio import (
    TwilioConfig,
    TwilioRequest,
    twilio_public_url,
    verify_twilio,
)
from recorder.ingest.verify.upload import UploadStream, begin_upload

__all__ = [
    "TOLERANCE",
    "HeaderInput",
    "Limits",
    "Secret",
    "StandardDelivery",
    "StandardWebhookStream",
    "StandardWebhooksConfig",
    "TelnyxConfig",
    "TelnyxDelivery",
    "TwilioConfig",
    "TwilioRequest",
    "UploadStream",
    "begin_standard_webhook",
    "begin_upload",
    "twilio_public_url",
    "verify_standard_webhook",
    "verify_telnyx",
    "verify_twilio",
]

"""Chat conversations through the recording pipeline (issue 17).

A chat is a recording (provider ``chat``) without audio: retention, legal holds,
restriction, erasure and the audit trail govern it exactly as they govern a call. One job
per module::

    settings     the [chat] table (platforms, classes per phase, self-service, history)
    jsonin       the bounded JSON reader every chat input goes through
    parse        a delivery document → Delivery (ids, senders, times, IP truncated)
    model        Delivery (request memory) and Conversation (what is sealed)
    digests      keyed digests of conversation/message ids, customer ids, e-mails
    classes      phase → retention class; the switches and the history window
    sealed       the chat's encrypted artefacts in and out of the vault
    ingest       one delivery → one stored chat (idempotent, all or nothing)
    commit       the one transaction that stores what ingest gathered and sealed
    selfsecret   the per-conversation secret: issue, digest, constant-time check
    selfservice  the customer's download and delete with that secret
    assertion    the online bank's signed sign-in assertion
    history      a logged-in customer's chat history
    aggregate    chat access decisions as audit entries; what stats and samples count
    staff        advisors, supervisors, DPO and legal: list, show, contact details
    sample       random redacted bot questions for review
    stats        counts per day, never an id or a text
    spool        chat files in a spool folder
    subjects     finding a data subject's chats by e-mail or customer id
    ratelimit    the self-service rate limit
    render       a conversation as JSON or plain text
"""

"""The QA review and supervisor web app (issue 16): server-rendered pages on Starlette.

Its own process and port (``callrec web``), beside the webhook server of
:mod:`recorder.web`. Every page and every audio byte goes through the same decisions and
audit entries as the CLI: listing is :mod:`recorder.listing`, audio is a playback ticket of
:mod:`recorder.grants` played through :func:`recorder.playback.open_playback`, QA is
:mod:`recorder.qa` / :mod:`recorder.qa_report`, summaries are :mod:`recorder.ai_review` and
the access log is :mod:`recorder.consultation`. This package adds only what a browser
needs: sign-in and sessions, CSRF, HTTP Range, templates and the waveform peaks.

==========================  ========================================================
``settings``                the ``[web]`` table (timeouts, cookies, OIDC)
``passwords``               argon2id hashing (``argon2-cffi`` only here)
``auth``                    sign-in, throttling, sessions, sign-out, set-password
``oidc``                    OpenID Connect code + PKCE (``authlib``/``requests`` only here)
``csrf``                    CSRF tokens and same-origin checks
``db``                      the one thread that owns the catalog connection
``render``                  Jinja2 (autoescape), security headers, the CSP
``handlers``                request plumbing: session → principal, errors → pages
``pages_*``                 the pages: calls and audio, review, reports, access log
``peaks``, ``chart``        waveform peaks (numpy) and the SVG trend chart
``app``                     the Starlette app; ``server`` runs it on uvicorn
==========================  ========================================================
"""

"""The HTTP edges (Starlette on uvicorn): the webhook ingest server, and in :mod:`.ui` the
QA review and supervisor web app (its own process and port, ``callrec web``).

The only package that imports ``starlette``, ``uvicorn`` or ``python_multipart``
(``tests/test_architecture.py``). Routes turn requests into ``bytes`` + headers for
``recorder.ingest.verify`` and :mod:`recorder.web.adapters`; nothing below sees HTTP.
"""

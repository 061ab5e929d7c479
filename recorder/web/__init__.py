"""The HTTP edge: webhook ingest server (Starlette on uvicorn).

The only package that imports ``starlette``, ``uvicorn`` or ``python_multipart``
(``tests/test_architecture.py``). Routes turn requests into ``bytes`` + headers for
``recorder.ingest.verify`` and :mod:`recorder.web.adapters`; nothing below sees HTTP.
"""

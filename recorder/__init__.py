"""callrec recorder: the edges (CLI, ingest, web) and the orchestration of capture,
access, AI and retention. The only package that imports ``storage`` and ``transcribe``."""

"""``callrec serve``, ``callrec worker`` and ``callrec jobs``: the webhook ingest edge (issue 5)."""

"""``callrec ai``, ``callrec summary`` and ``callrec transcript``: the AI path (issue 7)."""

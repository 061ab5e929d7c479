"""``callrec retention`` and ``callrec hold``: automatic destruction and legal hold (issue 8)."""

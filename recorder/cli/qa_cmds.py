"""``callrec qa``: QA sampling, review sessions and reports (issue 6)."""

"""``callrec subject``: data-subject find, export, erase, restrict (issue 8)."""

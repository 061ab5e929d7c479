"""callrec transcription: audio in, text out (no disk, keys or catalog)."""

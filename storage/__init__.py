"""callrec storage core: ciphertext format, keys, blobs, catalog and audit chain.

`storage` knows bytes, keys, rows and audit events. It never sees a phone number in
clear, a principal or a transcript object, and it never imports `recorder` or
`transcribe` (enforced by tests/test_architecture.py).
"""

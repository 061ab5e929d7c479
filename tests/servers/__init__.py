"""Real servers for the tests: PostgreSQL, SeaweedFS (S3), SoftHSM2 (PKCS#11), Chromium.

The fixtures are in :mod:`tests.servers.plugin`; the helper classes beside it can also be
used directly (a benchmark, a spike). Each module imports only the standard library at
import time, so loading the plugin for every test run costs nothing.
"""

"""The reference heifip 1.1.1 for tests that compare against it (tests/parity/oracle.py builds its
venv).  A test skips when it cannot be had -- except in CI (HEIFIP_REQUIRE_ORACLE=1), where the
comparison must run and a broken set-up fails."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "parity"))
import oracle  # noqa: E402

sys.path.pop(0)


def oracle_python_or_skip():
    try:
        return oracle.oracle_python()
    except oracle.OracleUnavailable as exc:
        if os.environ.get("HEIFIP_REQUIRE_ORACLE") == "1":
            raise
        pytest.skip(f"heifip 1.1.1 oracle unavailable: {exc}")


def skip_unless_ci(reason):
    """Skip for `reason` on a user's machine; fail in CI (CI set), whose set-up installs what the
    test needs (the fip script, tshark, the Debian demo sample), so its absence there is a bug."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)

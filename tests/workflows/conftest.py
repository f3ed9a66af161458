"""The sandbox-backed CLI of tests/workflows/test_share_sandbox.py, for the other share tests too."""

from tests.workflows.test_share_sandbox import bridge, sandbox

__all__ = ["bridge", "sandbox"]

"""The public names of the library stay importable (after httpx's test_exported_members)."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "lmsbridge.adapters": ["MoodleClient", "MoodleTransport", "RetryPolicy", "PlatformProfile", "REQUIRED_FUNCTIONS"],
    "lmsbridge.errors": ["LmsbridgeError", "RetriableError", "RecordError", "FatalError", "MoodleError",
                         "InvalidTokenError", "AccessDeniedError", "NotFoundError", "InvalidParameterError",
                         "RemoteError", "ConfigError", "InputError", "LedgerError"],
    "lmsbridge.config": ["Config", "load_config"],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names(module: str) -> None:
    mod = importlib.import_module(module)
    for name in PUBLIC[module]:
        assert hasattr(mod, name), f"{module}.{name}"
    exported = getattr(mod, "__all__", None)
    if exported is not None:
        for name in exported:
            assert hasattr(mod, name), f"{module}.__all__ names {name} which does not exist"

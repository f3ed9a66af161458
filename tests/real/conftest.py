"""The real-site suite: lmsbridge against the two real Moodle 4.5 lab sites (marker ``real``).

Run it with ``scripts/test-real`` after ``eval "$(../shared/moodle-lab/lab env)"``. Without the lab's
variables the suite is skipped with the reason, unless ``LMSBRIDGE_REAL=1`` says the lab must be there
(CI): then a missing or silent lab fails every test instead. ``scripts/test`` leaves the marker out.

Modules that change the sites start from ``lab.reset()`` (their ``fresh_lab`` fixture); read-only
modules use ``lab`` as it is.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.real.lab import Lab, missing_variables

HERE = Path(__file__).parent
REQUIRED = os.environ.get("LMSBRIDGE_REAL") == "1"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything in tests/real is marked ``real`` (before ``-m`` selects)."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.real)


def _unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"LMSBRIDGE_REAL=1 but {reason}", pytrace=False)
    pytest.skip(f"{reason} (the real-site suite needs the Moodle lab: run "
                f'eval "$(../shared/moodle-lab/lab env)" first; LMSBRIDGE_REAL=1 makes this a failure)')


@pytest.fixture(scope="session")
def lab() -> Lab:
    missing = missing_variables(os.environ)
    if missing:
        _unavailable(f"the lab's variables are not set ({', '.join(missing)})")
    found = Lab.from_environment(os.environ)
    silent = [site.name for site in (found.ks, found.lp) if not found.answers(site.name)]
    if silent:
        _unavailable(f"the lab sites {', '.join(silent)} do not answer at {found.ks.url} / {found.lp.url}")
    return found


@pytest.fixture(scope="module")
def fresh_lab(lab: Lab) -> Iterator[Lab]:
    """The lab in its seeded state for this module (the module may change it)."""
    lab.reset()
    yield lab

"""The same requests to the real lab sites and to lmsbridge's sandbox: the sandbox must answer like Moodle.

The requests (tests/real/differential.py) are every recorded one (tests/fixtures/moodle, in capture order:
later ones use what earlier ones created), then variants: other ids, missing and extra parameters, wrong
types, XML, no format, each token kind, functions outside the service. Each is its own test, named after
the request. Keys, kinds of value and error classes/codes are compared, not values (ids, times and the lab's
extra scale data legitimately differ).

With ``LMSBRIDGE_DIFFERENTIAL_TABLE=FILE`` the differences found are also written to FILE as a markdown table.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from lmsbridge.sandbox import Sandbox
from tests.real.differential import Answer, Probe, compare, probes, table
from tests.real.lab import Lab

pytestmark = pytest.mark.real

PROBES = probes()
FOUND: dict[str, list[str]] = {}


@dataclass
class Sites:
    lab: Lab
    sandbox: Sandbox
    session: requests.Session

    def ask(self, probe: Probe, *, real: bool) -> Answer:
        if real:
            site = self.lab.site(probe.site)
            url, tokens = site.url, {"ws": site.token, "admin": site.admin_token, "learner": site.learner_token}
        else:
            handle = self.sandbox.sites[probe.site]
            url, tokens = handle.url, {"ws": handle.token, "admin": handle.admin_token, "learner": handle.learner_token}
        response = self.session.post(url + probe.path, data=probe.form(tokens), timeout=120, allow_redirects=False)
        return Answer(response.status_code, response.headers.get("Content-Type", ""), response.content)


@pytest.fixture(scope="module")
def sites(fresh_lab: Lab) -> Iterator[Sites]:
    with Sandbox.start() as sandbox, requests.Session() as session:
        # the sandbox's service offers every function it serves; the lab's service is what is configured on it
        for name in ("ks", "lp"):
            offered = [f["name"] for f in fresh_lab.moodle(name).site_info()["functions"]]
            sandbox.sites[name].state.set_service_functions(offered)
        yield Sites(fresh_lab, sandbox, session)
    target = os.environ.get("LMSBRIDGE_DIFFERENTIAL_TABLE")
    if target:
        Path(target).write_text(table(sorted(FOUND.items())), encoding="utf-8")


@pytest.mark.parametrize("probe", PROBES, ids=[p.name for p in PROBES])
def test_sandbox_answers_like_moodle(probe: Probe, sites: Sites) -> None:
    real = sites.ask(probe, real=True)
    sandboxed = sites.ask(probe, real=False)
    problems = compare(real, sandboxed)
    if problems:
        FOUND[probe.name] = problems
    assert not problems, "\n".join(problems[:15])


def test_the_requests_cover_every_recording_and_many_variants() -> None:
    names = [p.name for p in PROBES]
    assert sum(n.startswith("recorded:") for n in names) > 150
    assert len(names) > 400

"""A local Moodle-4.5-compatible web-service server for tests, demos and benchmarks.

One HTTP server per site on 127.0.0.1 (ephemeral ports by default) answers
``POST|GET /webservice/rest/server.php`` (PHP-style nested form parameters in; JSON, or Moodle's XML
when ``moodlewsrestformat`` is not ``json``) and ``POST /login/token.php``, with the error classes,
error codes, warnings and ``null`` bodies the recorded lab sites gave (tests/fixtures/moodle/INDEX.md).
The default seed is the two recorded sites: ``ks`` (KS Læring) and ``lp`` (a hospital
Læringsportal), shipped as ``lmsbridge/sandbox/data/sites.json``.

Python API::

    from lmsbridge.sandbox import Sandbox, SeedSpec

    with Sandbox.start(latency=0.0, fault_rate=0.0, state_path=None, seed="default") as sb:
        sb.sites["ks"].url            # "http://127.0.0.1:PORT"
        sb.sites["ks"].token          # the lmsbridge WS token of that site
        sb.sites["ks"].admin_token    # the site admin's token; .learner_token: learner u01's
        state = sb.sites["lp"].state  # direct access for tests and the demo; thread-safe methods:
        state.complete_activity(userid, cmid, when=None)    # re-aggregates course completion at once
        state.set_last_access(userid, courseid, ts)
        state.add_course("HBHF-NY-01", "Nytt kurs", categoryid=3, activities=2, customfields={...})
        state.add_user("ny.bruker", "Ny", "Bruker", "ny@example.test", idnumber="HB1")
        state.enrol(userid, courseid)
        state.mark_self_completed(courseid, userid)   # counts after the next run_cron()
        state.run_cron()                              # completion aggregation and queued course copies
        state.set_fault_rate(0.1); state.set_latency(0.025)
        state.call_count; state.calls_by_function; state.fault_count
        state.set_debug(True); state.set_messaging(False); state.set_ws_can_message_any_user(False)
        state.set_report_condition(1, {...}); state.set_service_functions([...]); state.set_clock(clock)
        state.bulk_seed(n_courses=50, n_enrolments=200)  # synthetic courses for benchmarks

    # bulk data from the start, on both sites:
    Sandbox.start(seed=SeedSpec(courses=50, enrolments=200))
    # faults: HTTP 503 (default), or a dropped connection before ("drop") or after ("drop_after")
    # the call ran, or "mixed"; the draws come from random.Random(fault_seed)
    Sandbox.start(fault_rate=0.1, fault_mode="mixed", fault_seed=7)

``Sandbox.start`` also takes ``ports={"ks": 8081, "lp": 8082}``, ``clock`` (a ``() -> float``
time source) and ``debug``. With ``state_path`` the sites live in that SQLite file and are saved after
every change; an existing file is loaded instead of seeding.

People with their own keys (issue 12): each site has an e-læringsansvarlig with a personal token for the
lmsbridge service (seed «staff»: lp ``ingrid.hauge``, manager of category 3 «Helse Bergen HF»; ks
``kari.as@ks.no``, manager of category 2 «Helse og velferd»), found with
``state.token_of(state.user_by_username(name).id)``; the learner token (u01) has no rights on any course.
``core_course_get_user_administration_options`` answers what a token's user may do on a course, and course
creation and updates check the same capabilities (``functions/access.py``: Moodle's role archetypes). The
receipt field of the owner's acts is not on the recorded sites: ``seed.add_receipt_field(state)`` makes it,
as a site admin would.

``SERVED_FUNCTIONS`` names every web-service function served. From the command line:
``lmsbridge sandbox serve``.
"""

from __future__ import annotations

from lmsbridge.sandbox.functions import SERVED_FUNCTIONS
from lmsbridge.sandbox.sandbox import Sandbox, SiteHandle
from lmsbridge.sandbox.seed import SITE_NAMES, SeedSpec, build_site
from lmsbridge.sandbox.server import FAULT_MODES, SiteServer, handle_rest, handle_token
from lmsbridge.sandbox.state import SiteSettings, SiteState
from lmsbridge.sandbox.store import StateStore

__all__ = [
    "FAULT_MODES",
    "SERVED_FUNCTIONS",
    "SITE_NAMES",
    "Sandbox",
    "SeedSpec",
    "SiteHandle",
    "SiteServer",
    "SiteSettings",
    "SiteState",
    "StateStore",
    "build_site",
    "handle_rest",
    "handle_token",
]

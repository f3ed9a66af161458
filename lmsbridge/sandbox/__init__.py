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

Without sockets (``lmsbridge.sandbox.inprocess``): ``Sandbox.in_process(...)`` takes the same arguments
(no ports) and serves each site at ``http://<site>.sandbox.invalid`` through a ``requests`` transport
adapter, in the calling thread; while it is open every ``requests`` session in the process reaches
those URLs (``route=False``: mount them yourself, ``sb.session()``). Same data, same answers, same
hooks; only the network is gone. Tests use it unless they are about HTTP itself.

Hooks for tests (``lmsbridge.sandbox.hooks``), on either kind of sandbox::

    from lmsbridge.sandbox.hooks import Fault, Raw, deeply_nested, replace_key

    ks = sb.sites["ks"].state
    ks.fail("core_enrol_get_enrolled_users", Fault.http(503))            # every call, until removed
    ks.fail(None, Fault.dropped())                                        # the whole site: connection cut
    ks.fail("core_course_create_courses", Fault.dropped(after=True), times=1)  # ran, answer lost, once
    ks.fail("core_completion_get_activities_completion_status",
            Fault.moodle("nocriteriaset", "No completion criteria set for this course"),
            when=lambda call: call.params["userid"] == 10)                # only that learner
    ks.fail("core_user_get_users_by_field", Fault.http(502), nth=3)       # only the third call
    ks.delay("core_reportbuilder_retrieve_report", 2.0)
    ks.rewrite("core_completion_get_activities_completion_status", replace_key("timecompleted", 10**13))
    ks.rewrite("core_course_get_contents", lambda answer: deeply_nested(100_000))  # any bytes: Raw(b"...")
    hook = ks.fail(...); hook.seen; hook.hits; hook.remove(); ks.clear_hooks()
    ks.pin_clock(datetime(2026, 11, 23, 12, tzinfo=UTC))
    ks.calls_by_function; ks.faults_by_function; ks.calls_to("core_user_create_users")  # params, oldest first

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
from lmsbridge.sandbox.hooks import Fault, Hook, HookCall, Raw
from lmsbridge.sandbox.inprocess import InProcessAdapter
from lmsbridge.sandbox.sandbox import Sandbox, SiteHandle
from lmsbridge.sandbox.seed import SITE_NAMES, SeedSpec, build_site
from lmsbridge.sandbox.server import FAULT_MODES, SiteServer, handle_rest, handle_token
from lmsbridge.sandbox.state import SiteSettings, SiteState
from lmsbridge.sandbox.store import StateStore

__all__ = [
    "FAULT_MODES",
    "SERVED_FUNCTIONS",
    "SITE_NAMES",
    "Fault",
    "Hook",
    "HookCall",
    "InProcessAdapter",
    "Raw",
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

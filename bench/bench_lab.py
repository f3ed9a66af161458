"""The completion sync on the Moodle lab's scale set: real Moodle 4.5, real PHP, real PostgreSQL (issue #15 item 7).

Needs the lab (``eval "$(../shared/moodle-lab/lab env)"``); resets it first unless ``--no-reset``. lp owns
SKALA-LP-01..10 and KS Læring borrows them as SKALA-KS-01..10 (``$LAB_SCALE_JSON``); the ten shares are put in a
fresh ledger as published. Then, each counted by lmsbridge's transports (every web-service call) and timed:

1. the **first sync** (``--concurrency``, default 4: the profile's default), as ``lmsbridge sync run`` does it;
2. **settling** runs, only while the previous run left failed items to retry (they are not a no-change run);
3. a **no-change run**: an incremental run with nothing new on either site;
4. the **naive per-learner sweep**: every borrowed course → every enrolled learner → one
   ``core_completion_get_activities_completion_status`` read (plus one participant listing per course), at the
   same concurrency. It keeps no state, so it costs this much every run (and it still writes nothing: a real one
   would also have to read or write the owner's side).

**The fewest calls the data allows** for the first sync (from scale.json, and for the learners with something
done, from KS Læring's completion report, read before the runs and not counted), in the words of issue 6 —
listing pages + one completion read per learner who may have changed + one write per new completion — spelt out
for the report path lmsbridge takes on a first run:

* report 1 on ks, unfiltered: ``ceil(rows / 1000)`` pages and one ``core_reportbuilder_filters_reset`` before;
* per share: the owner course's participants (one page of 500), both courses' contents (2), each tracked
  activity's idnumber (``core_course_get_course_module``: Moodle 4.5 lists none), the owner accounts of the
  learners who are not participants of the owner course (one ``core_user_get_users_by_field`` per identity key:
  there are always municipal learners left to try all three keys on), one ``enrol_manual_enrol_users`` for the
  hospital learners who are enrolled on ks only;
* one read per hospital learner with something done on ks;
* one write per activity completion lp lacks (``activity_completions_missing_on_lp``).

Targets: first sync within 5 % of that minimum; the no-change run at least 50× faster than the naive sweep.
Prints the figures; exit 1 when a target is missed or the lab is not there.

Report 1 gets the «Last access to course» filter on both sites first (``lab admin SITE
--add-filter=access:timeaccess``: what the README asks of an administrator), so the no-change run reads the
report's visits in place of each course's participants; ``--without-visits-filter`` measures without it.

Run: ``python bench/bench_lab.py [--concurrency 4] [--no-reset] [--without-visits-filter]`` (about 10 minutes on
2 cores).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lmsbridge.adapters import MoodleClient, MoodleTransport, RetryPolicy
from lmsbridge.adapters.reports import VISITS_FILTER
from lmsbridge.config import Config, parse_config
from lmsbridge.ledger import Ledger
from lmsbridge.sync import SyncOptions, SyncSummary, run_sync

LAB_VARIABLES = ("LAB_CMD", "LAB_DIR", "LAB_SCALE_JSON", "LAB_KS_URL", "LAB_KS_TOKEN", "LAB_LP_URL", "LAB_LP_TOKEN")
REPORT_ID = 1
REPORT_PAGE = 1000  # rows per report page lmsbridge reads
PAGE_SIZE = 500  # [sync] page_size: participant listings
IDENTITY_KEYS = 3  # idnumber, email, username
SECRET_ENV = "BENCH_LAB_PSEUDONYM_SECRET"
CALLS_TARGET = 1.05
SPEED_TARGET = 50.0


@dataclass(frozen=True)
class Minimum:
    report_pages: int
    report_reset: int
    participant_pages: int
    contents: int
    idnumbers: int
    lookups: int
    enrols: int
    reads: int
    writes: int

    @property
    def total(self) -> int:
        return (self.report_pages + self.report_reset + self.participant_pages + self.contents + self.idnumbers
                + self.lookups + self.enrols + self.reads + self.writes)


@dataclass
class Run:
    name: str
    calls: int
    seconds: float
    exit_code: int = 0
    written: int = 0
    by_function: dict[str, int] = field(default_factory=dict)


def environment() -> dict[str, str]:
    missing = [name for name in LAB_VARIABLES if not os.environ.get(name)]
    if missing:
        raise SystemExit(f'bench_lab: no lab ({", ".join(missing)} unset): eval "$(../shared/moodle-lab/lab env)"')
    return {name: os.environ[name] for name in LAB_VARIABLES}


def client(url: str, token: str, name: str) -> MoodleClient:
    return MoodleClient(MoodleTransport(url, token, retry=RetryPolicy(attempts=3, max_time=60), name=name,
                                        timeout=(10.0, 300.0)))


def config_for(env: Mapping[str, str], folder: Path, concurrency: int) -> Config:
    def platform(name: str) -> dict[str, Any]:
        return {"title": name, "url": env[f"LAB_{name.upper()}_URL"], "role": "municipal" if name == "ks" else "hospital",
                "organisation": "KS" if name == "ks" else "Helse Bergen HF", "token_env": f"LAB_{name.upper()}_TOKEN",
                "completion_report_id": REPORT_ID, "concurrency": concurrency}

    return parse_config({"ledger": str(folder / "ledger.db"), "platforms": {"ks": platform("ks"), "lp": platform("lp")},
                         "sync": {"pseudonym_secret_env": SECRET_ENV, "page_size": PAGE_SIZE}})


def publish(ledger_path: Path, pairs: Sequence[Mapping[str, Any]]) -> None:
    stamp = datetime.now(UTC)
    with Ledger.open(str(ledger_path)) as ledger:
        for pair in pairs:
            share = ledger.create_share(
                flow="hospital-to-ks", owner_platform="lp", owner_course_id=int(pair["lp"]["courseid"]),
                owner_course_shortname=str(pair["lp"]["shortname"]), owner_org="Helse Bergen HF",
                borrower_platform="ks", borrower_org="KS", initiator="bench_lab", licence_at_share="",
                label="delt til KS Læring", owner_support="-", borrower_support="-", contact_point="kslaring@ks.no",
                request_key=f"bench-lab-{pair['pair']}", now=stamp)
            ledger.update_share_state(share.id, "approved", now=stamp)
            ledger.update_share_state(share.id, "published", now=stamp, borrower_course_id=int(pair["ks"]["courseid"]),
                                      borrower_course_shortname=str(pair["ks"]["shortname"]))


# -- the minimum ---------------------------------------------------------------------------------------------


def hospital_learners_with_something_done(ks: MoodleClient, shortnames: set[str]) -> tuple[int, int]:
    """(rows of report 1 on ks, hospital learners of the scale courses whose progress is above 0 %). Hospital
    learners are those with an HB2xxxx idnumber (scale.json ``users``). Columns are found by their headers."""
    ks.call("core_reportbuilder_filters_reset", reportid=REPORT_ID)
    rows: list[list[str]] = []
    total = None
    page = 0
    headers: list[str] = []
    while total is None or len(rows) < total:
        data = ks.call("core_reportbuilder_retrieve_report", reportid=REPORT_ID, page=page,
                       perpage=REPORT_PAGE)["data"]
        headers = [str(h) for h in data["headers"]]
        total = int(data["totalrowcount"])
        if not data["rows"]:
            break
        rows.extend([str(c) for c in row["columns"]] for row in data["rows"])
        page += 1
    course, idnumber, progress = (headers.index(h) for h in ("Course short name", "ID number", "Student progress"))
    busy = sum(1 for r in rows if r[course] in shortnames and r[idnumber].startswith("HB2")
               and float(r[progress].rstrip("%") or 0) > 0)
    return total or 0, busy


def minimum_first(facts: Mapping[str, Any], report_rows: int, busy: int) -> Minimum:
    pairs = facts["pairs"]
    shares = len(pairs)
    tracked = sum(len(p["ks"]["activities"]) + len(p["lp"]["activities"]) for p in pairs)
    enrols = sum(1 for p in pairs if p["hospital_enrolments_missing_on_lp"]
                 and p["activity_completions_missing_on_lp_learner_not_enrolled_on_lp"])
    return Minimum(
        report_pages=max(1, math.ceil(report_rows / REPORT_PAGE)),
        report_reset=1,
        participant_pages=sum(p["lp_enrolments"] // PAGE_SIZE + 1 for p in pairs),
        contents=2 * shares,
        idnumbers=tracked,
        lookups=IDENTITY_KEYS * shares,
        enrols=enrols,
        reads=busy,
        writes=int(facts["totals"]["activity_completions_missing_on_lp"]),
    )


# -- runs ----------------------------------------------------------------------------------------------------


def by_function(summary: SyncSummary) -> dict[str, int]:
    out: Counter[str] = Counter()
    for per in summary.calls.values():
        out.update(per)
    return dict(sorted(out.items()))


def sync(name: str, env: Mapping[str, str], config: Config, ledger_path: Path, concurrency: int) -> Run:
    clients = {"ks": client(env["LAB_KS_URL"], env["LAB_KS_TOKEN"], "ks"),
               "lp": client(env["LAB_LP_URL"], env["LAB_LP_TOKEN"], "lp")}
    with Ledger.open(str(ledger_path)) as ledger:
        started = time.perf_counter()
        summary = run_sync(config=config, clients=clients, ledger=ledger,
                           options=SyncOptions(concurrency=concurrency))
        seconds = time.perf_counter() - started
    functions = by_function(summary)
    return Run(name, sum(functions.values()), seconds, summary.exit_code, summary.written, functions)


def naive_sweep(env: Mapping[str, str], pairs: Sequence[Mapping[str, Any]], concurrency: int) -> Run:
    """Every borrowed course, every enrolled learner, one completion read each; ``concurrency`` calls in flight."""
    ks = client(env["LAB_KS_URL"], env["LAB_KS_TOKEN"], "ks")
    started = time.perf_counter()
    work: list[tuple[int, int]] = []
    for pair in pairs:
        courseid = int(pair["ks"]["courseid"])
        work.extend((courseid, user.id) for user in ks.enrolled_users(courseid, page_size=PAGE_SIZE))
    local = threading.local()  # one HTTP session per thread (clones share the call counter)

    def read(item: tuple[int, int]) -> None:
        worker: MoodleClient | None = getattr(local, "client", None)
        if worker is None:
            worker = local.client = ks.clone()
        worker.activities_completion(*item)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(read, work))
    seconds = time.perf_counter() - started
    calls = ks.call_counts()
    return Run("naive per-learner sweep (every run)", sum(calls.values()), seconds,
               by_function=dict(sorted(calls.items())))


# -- output ----------------------------------------------------------------------------------------------------


def report(minimum: Minimum, runs: Sequence[Run], first: Run, no_change: Run, naive: Run) -> bool:
    print(f"\n{'run':<40} {'calls':>7} {'seconds':>9} {'written':>8} {'exit':>5}")
    for run in runs:
        print(f"{run.name:<40} {run.calls:>7} {run.seconds:>9.1f} {run.written:>8} {run.exit_code:>5}")
    print("\nthe fewest calls the data allows, first sync:")
    for name, value in minimum.__dict__.items():
        print(f"  {name:<18} {value:>6}")
    print(f"  {'total':<18} {minimum.total:>6}")
    print("\nfirst sync, calls by function:")
    for name, count in first.by_function.items():
        print(f"  {name:<55} {count:>6}")
    ratio = first.calls / minimum.total
    speed = naive.seconds / no_change.seconds if no_change.seconds else math.inf
    calls_ok = ratio <= CALLS_TARGET
    speed_ok = speed >= SPEED_TARGET
    print(f"\nfirst sync: {first.calls} calls = {ratio:.3f} × the minimum {minimum.total} "
          f"(target ≤ {CALLS_TARGET}): {'met' if calls_ok else 'MISSED'}")
    print(f"no-change run {no_change.seconds:.1f} s vs naive sweep {naive.seconds:.1f} s ({naive.calls} calls): "
          f"{speed:.1f}× faster (target ≥ {SPEED_TARGET:g}×): {'met' if speed_ok else 'MISSED'}")
    return calls_ok and speed_ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--concurrency", type=int, default=4, help="calls in flight per platform (default 4)")
    parser.add_argument("--no-reset", action="store_true", help="do not reset the lab first")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--without-visits-filter", action="store_true",
                        help="leave report 1 without the «Last access to course» filter (incremental runs then list "
                             "each course's participants)")
    args = parser.parse_args(argv)
    env = environment()
    if not args.no_reset:
        print("resetting the lab …", flush=True)
        subprocess.run([env["LAB_CMD"], "reset"], check=True, capture_output=True, env={**os.environ})
    if not args.without_visits_filter:  # what the README asks of a site's administrator
        for site in ("ks", "lp"):
            listed = subprocess.run([env["LAB_CMD"], "admin", site, "--list"], capture_output=True, text=True,
                                    env={**os.environ}, check=True)
            if f"report {REPORT_ID} filter: {VISITS_FILTER}" in listed.stdout:
                continue
            subprocess.run([env["LAB_CMD"], "admin", site, f"--add-filter={VISITS_FILTER}"], capture_output=True,
                           env={**os.environ}, check=True)
    facts = json.loads(Path(env["LAB_SCALE_JSON"]).read_text(encoding="utf-8"))
    pairs = facts["pairs"]
    ks = client(env["LAB_KS_URL"], env["LAB_KS_TOKEN"], "ks")
    rows, busy = hospital_learners_with_something_done(ks, {p["ks"]["shortname"] for p in pairs})
    minimum = minimum_first(facts, rows, busy)
    os.environ.setdefault(SECRET_ENV, secrets.token_hex(32))
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="bench-lab-") as folder:
        config = config_for(env, Path(folder), args.concurrency)
        ledger_path = Path(folder) / "ledger.db"
        publish(ledger_path, pairs)
        print(f"first sync of {len(pairs)} shares at concurrency {args.concurrency} …", flush=True)
        first = sync("first sync", env, config, ledger_path, args.concurrency)
        runs.append(first)
        last = first
        for n in range(1, 4):
            if last.exit_code == 0:
                break
            print(f"settling run {n} (the last run left failed items) …", flush=True)
            last = sync(f"settling run {n} (failed items retried)", env, config, ledger_path, args.concurrency)
            runs.append(last)
        print("no-change run …", flush=True)
        no_change = sync("no-change run", env, config, ledger_path, args.concurrency)
        runs.append(no_change)
    print("naive per-learner sweep …", flush=True)
    naive = naive_sweep(env, pairs, args.concurrency)
    runs.append(naive)
    ok = report(minimum, runs, first, no_change, naive)
    if args.json:
        args.json.write_text(json.dumps({"minimum": minimum.__dict__ | {"total": minimum.total},
                                         "runs": [r.__dict__ for r in runs], "targets_met": ok}, indent=2),
                             encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

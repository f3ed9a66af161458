"""The completion sync against a server that answers like Moodle with 25 ms per call (issue 6).

Two sandbox sites (lmsbridge.sandbox, real HTTP, threaded) run in a child process, so this process holds
only the sync and its peak memory is the sync's. lp owns 50 courses of 2 activities; ks borrows each as a
course with the same activity names; the same 200 learners (same idnumber and email on both sites) are
enrolled in every course on both sites, so each share has 200 enrolments. On ks, ``--active`` of the
learners (default a fifth) have done one or both activities of a course, long enough ago to be outside the
incremental window. ks's profile names its completion report (report 1), as the sandbox's report builder
serves it.

Figures (targets from the issue):

* web-service calls per run, against the minimum: listing pages (the report's filter, pages and reset;
  the owner course's participants) + one completion read per learner who may have changed + one write per
  new completion; within 10%. Beside it, the naive per-learner sweep (every enrolled learner read every run,
  every completion written again) and lmsbridge's own per-learner path without the report (counted at 0 ms);
* first full sync, concurrency 4 vs 1: at least 3× faster;
* a no-change incremental run: at least 20× faster than the first full sync (concurrency 4);
* peak memory (this process, ``ru_maxrss``): under 200 MB.

Run: ``python bench/bench_sync.py [--shares 50] [--enrolments 200] [--latency 0.025] [--active 0.2]``
(about 2½ minutes with the defaults). Exit 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from lmsbridge.adapters import MoodleClient, MoodleTransport, RetryPolicy
from lmsbridge.config import Config, parse_config
from lmsbridge.ledger import Ledger
from lmsbridge.sync import SyncOptions, SyncSummary, run_sync

SECRET = "bench-pseudonym-secret-0123456789"
ACTIVITIES = ("Aktivitet 1", "Aktivitet 2")
REPORT_ID = 1


@dataclass(frozen=True)
class Seeded:
    urls: dict[str, str]
    tokens: dict[str, str]
    shares: list[tuple[int, str, int, str]]  # owner course id, shortname, borrower course id, shortname
    reads_needed: int  # learners with something done on the borrower side (all shares)
    completions: int  # activity completions on the borrower side (all shares)


# -- the sandbox, in a child process -------------------------------------------------------------------------


def _seed(sb: Any, shares: int, enrolments: int, active: float, seed: int) -> Seeded:
    ks, lp = sb.sites["ks"].state, sb.sites["lp"].state
    rng = random.Random(seed)
    now = ks.now()
    people: dict[str, list[int]] = {"ks": [], "lp": []}
    for n in range(1, enrolments + 1):
        for name, state in (("ks", ks), ("lp", lp)):
            user = state.add_user(f"bench{n:05d}", f"Deltaker{n}", "Benk", f"deltaker{n:05d}@example.test",
                                  idnumber=f"BENCH-{n:05d}")
            people[name].append(user.id)
    pairs = []
    reads = completions = 0
    for k in range(1, shares + 1):
        owner = lp.add_course(f"BENCH-LP-{k:04d}", f"Delt kurs {k}", activities=list(ACTIVITIES))
        borrower = ks.add_course(f"KSL-BENCH-LP-{k:04d}", f"Delt kurs {k} (KS)", activities=list(ACTIVITIES))
        tracked = [m for m in ks.tracked_modules(borrower)]
        for uid in people["lp"]:
            lp.enrol(uid, owner.id)
        for uid in people["ks"]:
            ks.enrol(uid, borrower.id)
            if rng.random() >= active:
                continue
            when = now - rng.randrange(3600, 30 * 86400)  # outside the incremental window
            done = len(tracked) if rng.random() < 0.5 else 1
            for module in tracked[:done]:
                ks.complete_activity(uid, module.id, when)
            ks.set_last_access(uid, borrower.id, when)
            reads += 1
            completions += done
        pairs.append((owner.id, owner.shortname, borrower.id, borrower.shortname))
    return Seeded({n: s.url for n, s in sb.sites.items()}, {n: s.token for n, s in sb.sites.items()}, pairs,
                  reads, completions)


def serve(conn: Connection, shares: int, enrolments: int, active: float, seed: int) -> None:
    from lmsbridge.sandbox import Sandbox

    with Sandbox.start(seed="empty") as sb:
        conn.send(_seed(sb, shares, enrolments, active, seed))
        while True:
            command, value = conn.recv()
            if command == "latency":
                for site in sb.sites.values():
                    site.state.set_latency(float(value))
                conn.send(True)
            elif command == "stop":
                conn.send(True)
                return


class SandboxProcess:
    def __init__(self, shares: int, enrolments: int, active: float, seed: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=serve, args=(child, shares, enrolments, active, seed), daemon=True)
        self._process.start()
        self.seeded: Seeded = self._conn.recv()

    def latency(self, seconds: float) -> None:
        self._conn.send(("latency", seconds))
        self._conn.recv()

    def stop(self) -> None:
        self._conn.send(("stop", None))
        self._conn.recv()
        self._process.join(timeout=30)


# -- the sync ------------------------------------------------------------------------------------------------


def config_for(seeded: Seeded, folder: Path, *, report: bool) -> Config:
    platforms = {
        name: {"title": name, "url": url, "role": "municipal" if name == "ks" else "hospital",
               "organisation": "KS" if name == "ks" else "Helse Bergen HF", "token_env": f"BENCH_TOKEN_{name}",
               "completion_report_id": REPORT_ID if (report and name == "ks") else None}
        for name, url in seeded.urls.items()
    }
    return parse_config({"ledger": str(folder / "ledger.db"), "platforms": platforms,
                         "sync": {"pseudonym_secret_env": "BENCH_PSEUDONYM_SECRET"}})


def new_ledger(folder: Path, seeded: Seeded, name: str) -> Ledger:
    ledger = Ledger.open(folder / f"{name}.db")
    stamp = datetime.now(UTC)
    for n, (owner_id, owner_short, borrower_id, borrower_short) in enumerate(seeded.shares, start=1):
        share = ledger.create_share(
            flow="hospital-to-ks", owner_platform="lp", owner_course_id=owner_id, owner_course_shortname=owner_short,
            owner_org="Helse Bergen HF", borrower_platform="ks", borrower_org="KS", initiator="bench",
            licence_at_share="CC BY", label="delt til KS Læring", owner_support="-", borrower_support="-",
            contact_point="kslaring@ks.no", request_key=f"bench-{n}", now=stamp)
        ledger.update_share_state(share.id, "approved", now=stamp)
        ledger.update_share_state(share.id, "published", now=stamp, borrower_course_id=borrower_id,
                                  borrower_course_shortname=borrower_short)
    return ledger


def clients(seeded: Seeded) -> dict[str, MoodleClient]:
    retry = RetryPolicy(attempts=3, max_time=30)
    return {name: MoodleClient(MoodleTransport(url, seeded.tokens[name], retry=retry, name=name))
            for name, url in seeded.urls.items()}


def timed(config: Config, seeded: Seeded, ledger: Ledger, **options: Any) -> tuple[float, SyncSummary]:
    started = time.perf_counter()
    summary = run_sync(config=config, clients=clients(seeded), ledger=ledger, options=SyncOptions(**options))
    elapsed = time.perf_counter() - started
    if summary.exit_code != 0:
        raise SystemExit(f"sync run failed (exit {summary.exit_code}): {summary.as_dict()['shares'][:2]}")
    return elapsed, summary


def calls(summary: SyncSummary) -> int:
    return sum(sum(per.values()) for per in summary.calls.values())


def minimum_first(seeded: Seeded, rows: int, page_size: int = 1000) -> int:
    report = 1 + max(1, math.ceil(rows / page_size))  # reset (an unfiltered read) + pages
    owner_listing = len(seeded.shares)  # one page of participants per owner course (page size 500)
    return report + owner_listing + seeded.reads_needed + seeded.completions


def naive_sweep(seeded: Seeded, enrolments: int) -> int:
    """Every run: list each course, read every enrolled learner, write every completion again."""
    return len(seeded.shares) * (1 + enrolments) + seeded.completions


def peak_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 / (1024 if sys.platform == "darwin" else 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shares", type=int, default=50)
    parser.add_argument("--enrolments", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.025, help="seconds per web-service call")
    parser.add_argument("--active", type=float, default=0.2, help="share of learners with something done")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    os.environ["BENCH_PSEUDONYM_SECRET"] = SECRET

    began = time.perf_counter()
    print(f"seeding {args.shares} shares × {args.enrolments} enrolments ({args.active:.0%} active) …", flush=True)
    sandbox = SandboxProcess(args.shares, args.enrolments, args.active, args.seed)
    seeded = sandbox.seeded
    failures: list[str] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            config = config_for(seeded, folder, report=True)
            rows = len(seeded.shares) * args.enrolments

            # the per-learner path and the naive sweep only count calls: no latency needed
            sandbox.latency(0.0)
            with new_ledger(folder, seeded, "per-learner") as ledger:
                _, per_learner = timed(config_for(seeded, folder, report=False), seeded, ledger, full=True,
                                       concurrency=4)
            sandbox.latency(args.latency)

            with new_ledger(folder, seeded, "c1") as ledger:
                t1, first1 = timed(config, seeded, ledger, concurrency=1)
            with new_ledger(folder, seeded, "c4") as ledger:
                t4, first4 = timed(config, seeded, ledger, concurrency=4)
                t_inc, incremental = timed(config, seeded, ledger, concurrency=4)
            memory = peak_mb()
    finally:
        sandbox.stop()

    minimum = minimum_first(seeded, rows)
    incremental_minimum = 3  # set_filters, one page, filters_reset
    over_first = calls(first4) / minimum - 1
    over_incremental = calls(incremental) / incremental_minimum - 1
    print(f"\nshares {len(seeded.shares)}, enrolments {rows}, learners with something done {seeded.reads_needed}, "
          f"completions {seeded.completions}, latency {args.latency * 1000:.0f} ms/call")
    print(f"{'run':<34}{'calls':>8}{'minimum':>9}{'over':>8}{'written':>9}{'seconds':>9}")
    print(f"{'first full sync, concurrency 1':<34}{calls(first1):>8}{minimum:>9}"
          f"{calls(first1) / minimum - 1:>8.1%}{first1.written:>9}{t1:>9.1f}")
    print(f"{'first full sync, concurrency 4':<34}{calls(first4):>8}{minimum:>9}{over_first:>8.1%}"
          f"{first4.written:>9}{t4:>9.1f}")
    print(f"{'no-change incremental run':<34}{calls(incremental):>8}{incremental_minimum:>9}"
          f"{over_incremental:>8.1%}{incremental.written:>9}{t_inc:>9.2f}")
    print(f"{'per-learner path (no report), full':<34}{calls(per_learner):>8}")
    print(f"{'naive per-learner sweep, each run':<34}{naive_sweep(seeded, args.enrolments):>8}")
    print(f"\ncalls of the first sync by function: {dict(sorted(_by_function(first4).items()))}")
    print(f"speed-up concurrency 4 vs 1: {t1 / t4:.1f}× (target ≥ 3×)")
    print(f"first full sync vs no-change run: {t4 / t_inc:.0f}× (target ≥ 20×)")
    print(f"peak memory of the sync process: {memory:.0f} MB (target < 200 MB)")
    print(f"bench time: {time.perf_counter() - began:.0f} s")

    if over_first > 0.10:
        failures.append(f"first sync made {over_first:.1%} more calls than the minimum")
    if first4.written != seeded.completions or first1.written != seeded.completions:
        failures.append("not every completion was written")
    if incremental.written or over_incremental > 0.10:
        failures.append("the no-change run wrote or made extra calls")
    if t1 / t4 < 3:
        failures.append("concurrency 4 is not 3× faster than 1")
    if t4 / t_inc < 20:
        failures.append("the no-change run is not 20× faster than the first sync")
    if memory >= 200:
        failures.append("peak memory 200 MB or more")
    for failure in failures:
        print(f"MISSED: {failure}")
    return 1 if failures else 0


def _by_function(summary: SyncSummary) -> Mapping[str, int]:
    out: dict[str, int] = {}
    for per in summary.calls.values():
        for fn, n in per.items():
            out[fn] = out.get(fn, 0) + n
    return out


if __name__ == "__main__":
    sys.exit(main())

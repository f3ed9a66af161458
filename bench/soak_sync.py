"""Soak: ``lmsbridge sync run`` killed, starved and fed bad data, then checked against the platforms (issue 11).

Two sandbox sites served over real HTTP with Moodle's latency (``--latency``, 25 ms) run in a child process that
keeps its state in a SQLite store (every change is saved), on fixed ports, so the server can be killed and
started again where it was. lp owns ``--shares`` courses of two activities, ks borrows each (same activity
names; the same ``--learners`` people, same idnumber and email, on both sites); some of them have done one or
both activities on ks (bench/bench_sync.py's seeding). ks's profile names its completion report, so runs set and
reset a report filter on the site: a kill between the two is part of what is tried.

The scenario, each ``lmsbridge sync run`` a separate process with the CLI (``--quiet --no-certificates``):

1. **SIGKILL trials**: before each run, 0-3 learners do one more activity on ks (with a course visit); the run is
   killed with SIGKILL after a random delay (uniform up to 1.5 × the last run that finished by itself). A run that
   finished before its kill is not a trial: the loop goes on until ``--trials`` runs were killed.
2. **503 storm**: every call to both sites answers 503 (a run exits 3 and writes nothing), then a burst of
   ``--burst`` 503s in a row on each site after a random number of calls, which the transport's retries meet in the
   middle of a run (absorbed, or the platform is left for the next run).
3. **Server killed and restarted**: the sandbox process is SIGKILLed while a run is under way, and started again
   from its store on the same ports; the next run picks up.
4. **Poisoned record**: one learner's completion on ks gets ``timemodified`` 10^13 (year 318857): the run fails
   that learner (a failed item, exit 4) and finishes everything else; later a person repairs the record and the
   next run brings it back (the failed learner is retried).
5. **Owner-side reset**: ``--resets`` completions the sync brought back are reset on lp by hand; an incremental
   run does not see it (the borrower did not change), ``sync run --full`` writes them again.
6. The last runs: one incremental ``sync run``, one ``sync run --full``, then ``sync check --json``.

Counted, after the last run, by the soak itself from the two sites' state and the ledger (not from what lmsbridge
says): **lost**: completions on ks whose learner's lp account lacks the mapped activity; **duplicated**: ledger
rows beyond one per (share, owner learner, owner activity) or under a pseudonym of nobody; **drift**: what
``sync check`` found (owner lacks + borrower lacks). Printed with the trials; exit 1 unless lost, duplicated and
drift are all 0 (and ``sync check`` exited 0). Also printed, as information: owner rewrites (an override of an
activity the owner already held complete: a run killed between its write and its ledger commit makes the next
run write again, at-least-once by design) and the exit codes seen.

Run: ``python bench/soak_sync.py`` (about 3-4 minutes: 50 trials, 3 shares × 30 learners, 25 ms); longer:
``--trials 500 --shares 10 --learners 100``; ``--seed`` changes the draws; ``--keep DIR`` keeps the files.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_sync import Seeded, _seed  # noqa: E402
from lmsbridge.ledger import Ledger  # noqa: E402
from lmsbridge.sync.identity import learner_key  # noqa: E402

SECRET = "soak-pseudonym-secret-0123456789"
REPORT_ID = 1
OVERRIDE = "core_completion_override_activity_completion_status"
POISON = 10**13


# -- the sandbox, in a child process that can be killed ----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(conn: Connection, store: str, ports: dict[str, int], latency: float, shares: int, learners: int,
          active: float, seed: int) -> None:
    """The two sites on ``ports``, from ``store`` (seeded when it is new); answers the controller's commands."""
    from lmsbridge.sandbox import Fault, Sandbox
    from lmsbridge.sandbox.hooks import HookCall

    fresh = not Path(store).exists()
    with Sandbox.start(seed="empty", state_path=store, ports=ports) as sb:
        ks, lp = sb.sites["ks"].state, sb.sites["lp"].state
        seeded = _seed(sb, shares, learners, active, seed) if fresh else None
        for state in (ks, lp):
            state.set_latency(latency)
        rewrites = Counter[str]()

        def already_complete(call: HookCall) -> bool:
            record = lp.activity_state(int(call.params["cmid"]), int(call.params["userid"]))
            if record is not None and record.state >= 1:
                rewrites["owner"] += 1
            return False

        lp.delay(OVERRIDE, 0.0, when=already_complete)  # counts, never delays
        rng = random.Random(seed + 7)
        conn.send(seeded)
        while True:
            command, value = conn.recv()
            if command == "progress":  # learners do one more activity on ks, with a course visit
                conn.send(_progress(ks, rng, int(value)))
            elif command == "storm":  # every call answers 503 until "calm"
                for state in (ks, lp):
                    state.fail(None, Fault.http(503))
                conn.send(True)
            elif command == "burst":  # after some calls, that many 503s in a row, then normal again
                for state in (ks, lp):
                    state.fail(None, Fault.http(503), after=rng.randint(10, 60), times=int(value))
                conn.send(True)
            elif command == "calm":
                for state in (ks, lp):
                    state.clear_hooks()
                lp.delay(OVERRIDE, 0.0, when=already_complete)
                conn.send(True)
            elif command == "poison":
                conn.send(_poison(ks, lp, rng))
            elif command == "repair":
                uid, cmid, courseid = value
                ks.complete_activity(uid, cmid)
                ks.set_last_access(uid, courseid)
                conn.send(True)
            elif command == "reset_owner":
                conn.send(_reset_owner(lp, rng, int(value)))
            elif command == "truth":
                conn.send(_truth(ks, lp))
            elif command == "rewrites":
                conn.send(rewrites["owner"])
            elif command == "stop":
                conn.send(True)
                return


def _shares(ks: Any, lp: Any) -> list[tuple[Any, Any]]:
    """(borrower course, owner course) pairs, by shortname (KSL-<owner shortname>)."""
    owners = {c.shortname: c for c in lp.courses.values()}
    return [(c, owners[c.shortname[4:]]) for c in ks.courses.values() if c.shortname.startswith("KSL-")
            and c.shortname[4:] in owners]


def _progress(ks: Any, rng: random.Random, learners: int) -> int:
    made = 0
    with ks.lock:
        open_items = [(course.id, uid, m.id) for course in ks.courses.values() if course.shortname.startswith("KSL-")
                      for uid in ks.enrolments.get(course.id, {}) for m in ks.tracked_modules(course)
                      if (st := ks.activity_state(m.id, uid)) is None or st.state < 1]
    for courseid, uid, cmid in rng.sample(open_items, min(learners, len(open_items))):
        ks.set_last_access(uid, courseid)
        ks.complete_activity(uid, cmid)
        made += 1
    return made


def _poison(ks: Any, lp: Any, rng: random.Random) -> tuple[int, int, int]:
    """A newcomer (on both sites, in one shared course) does the first activity on ks at ``timemodified`` 10^13;
    the course does not complete, so the report keeps sane dates."""
    borrower, owner = rng.choice(_shares(ks, lp))
    n = len(ks.users) + 1000
    ids = []
    for state, course in ((ks, borrower), (lp, owner)):
        user = state.add_user(f"poison{n}", "Forgiftet", "Post", f"poison{n}@example.test", idnumber=f"POISON-{n}")
        state.enrol(user.id, course.id)
        ids.append(user.id)
    cmid = ks.tracked_modules(borrower)[0].id
    ks.complete_activity(ids[0], cmid, POISON)
    ks.set_last_access(ids[0], borrower.id)
    return ids[0], cmid, borrower.id


def _reset_owner(lp: Any, rng: random.Random, n: int) -> int:
    with lp.lock:
        held = [(uid, cmid) for (cmid, uid), record in lp.activity_completions.items() if record.state >= 1]
    picked = rng.sample(held, min(n, len(held)))
    for uid, cmid in picked:
        lp.reset_activity(uid, cmid)
    return len(picked)


def _truth(ks: Any, lp: Any) -> dict[str, Any]:
    """What ks shows completed (by learner idnumber and owner activity), what lp holds, lp's users' ids."""
    expected: set[tuple[int, str, int]] = set()
    actual: set[tuple[int, str, int]] = set()
    poisoned = 0
    with ks.lock, lp.lock:
        for borrower, owner in _shares(ks, lp):
            by_name = {m.name: m.id for m in lp.tracked_modules(owner)}
            for module in ks.tracked_modules(borrower):
                for uid in ks.enrolments.get(borrower.id, {}):
                    record = ks.activity_state(module.id, uid)
                    if record is not None and record.state >= 1:
                        if record.timemodified >= POISON:
                            poisoned += 1
                        expected.add((owner.id, ks.users[uid].idnumber, by_name[module.name]))
            for module in lp.tracked_modules(owner):
                for uid in lp.enrolments.get(owner.id, {}):
                    record = lp.activity_state(module.id, uid)
                    if record is not None and record.state >= 1:
                        actual.add((owner.id, lp.users[uid].idnumber, module.id))
        lp_users = {u.idnumber: u.id for u in lp.users.values() if u.idnumber}
    return {"lost": len(expected - actual), "extra": len(actual - expected), "borrower": len(expected),
            "owner": len(actual), "poisoned": poisoned, "lp_users": lp_users}


class Sites:
    """The sandbox child process: start, ask, kill, start again from the store."""

    def __init__(self, folder: Path, args: argparse.Namespace) -> None:
        self.store = str(folder / "sandbox.db")
        self.ports = {"ks": _free_port(), "lp": _free_port()}
        self.args = args
        self.seeded: Seeded | None = None
        self._process: Any = None
        self.start()

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        a = self.args
        self._process = context.Process(target=serve, args=(child, self.store, self.ports, a.latency, a.shares,
                                                            a.learners, a.active, a.seed), daemon=True)
        self._process.start()
        seeded = self._conn.recv()
        if seeded is not None:
            self.seeded = seeded

    def ask(self, command: str, value: Any = None) -> Any:
        self._conn.send((command, value))
        return self._conn.recv()

    def kill(self) -> None:
        os.kill(self._process.pid, signal.SIGKILL)
        self._process.join(timeout=30)

    def stop(self) -> None:
        if self._process is not None and self._process.is_alive():
            self.ask("stop")
            self._process.join(timeout=30)


# -- the runs -----------------------------------------------------------------------------------------------------


@dataclass
class Tally:
    outputs: dict[str, str] = field(default_factory=dict)  # what the named runs printed (--quiet: only trouble)
    trials: int = 0  # runs killed while running
    finished_before_kill: int = 0
    exits: Counter[str] = field(default_factory=Counter)
    longest: float = 0.0
    typical: float = 3.0  # seconds of the last run that finished by itself


def write_config(folder: Path, sites: Sites) -> Path:
    assert sites.seeded is not None
    lines = [f'ledger = "{folder / "ledger.db"}"', "", "[sync]", 'pseudonym_secret_env = "SOAK_PSEUDONYM"', ""]
    for name, url in sites.seeded.urls.items():
        lines += [f"[platforms.{name}]", f'title = "{name}"', f'url = "{url}"',
                  f'role = "{"municipal" if name == "ks" else "hospital"}"',
                  f'organisation = "{"KS" if name == "ks" else "Helse Bergen HF"}"',
                  f'token_env = "SOAK_TOKEN_{name.upper()}"', "retry_attempts = 3", "retry_max_seconds = 4",
                  "timeout_seconds = 10"]
        if name == "ks":
            lines.append(f"completion_report_id = {REPORT_ID}")
        lines.append("")
    path = folder / "lmsbridge.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def publish_shares(folder: Path, seeded: Seeded) -> None:
    from bench.bench_sync import new_ledger

    ledger = new_ledger(folder, seeded, "ledger")
    ledger.close()


class Runner:
    def __init__(self, config: Path, sites: Sites) -> None:
        assert sites.seeded is not None
        self.config = config
        self.env = {**os.environ, "SOAK_PSEUDONYM": SECRET, "PYTHONPATH": str(ROOT),
                    **{f"SOAK_TOKEN_{n.upper()}": t for n, t in sites.seeded.tokens.items()}}

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "lmsbridge", "--config", str(self.config), "--lang", "en",
                                 "sync", *args], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def run(self, *args: str, timeout: float = 300) -> tuple[int, str]:
        process = self.start(*args)
        out, err = process.communicate(timeout=timeout)
        return process.returncode, (out + err).decode("utf-8", "replace")


def sync_args(full: bool = False) -> list[str]:
    return ["run", "--quiet", "--no-certificates", *(["--full"] if full else [])]


def named_run(runner: Runner, tally: Tally, name: str, *args: str) -> int:
    code, output = runner.run(*args)
    tally.exits[f"{name}:{code}"] += 1
    tally.outputs[name] = output
    return code


def killed_trials(runner: Runner, sites: Sites, tally: Tally, trials: int, rng: random.Random, say: Any) -> None:
    attempts = 0
    while tally.trials < trials and attempts < trials * 4:
        attempts += 1
        if tally.trials and tally.trials % 10 == 0 and tally.finished_before_kill == 0 and attempts > 1:
            # no run has finished before its kill yet: time one that is left alone, so the kills spread over a
            # whole run (its writes and its commit included), not only its start
            started = time.monotonic()
            named_run(runner, tally, f"timed-{tally.trials}", *sync_args())
            tally.typical = time.monotonic() - started
            tally.longest = max(tally.longest, tally.typical)
        sites.ask("progress", rng.randint(0, 3))
        started = time.monotonic()
        process = runner.start(*sync_args())
        delay = rng.uniform(0.05, max(1.0, 1.5 * tally.typical))
        try:
            process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            tally.trials += 1
            tally.exits["killed"] += 1
            if tally.trials % 10 == 0:
                say(f"  {tally.trials} runs killed")
            continue
        elapsed = time.monotonic() - started
        tally.typical = elapsed
        tally.longest = max(tally.longest, elapsed)
        tally.finished_before_kill += 1
        tally.exits[str(process.returncode)] += 1


def ledger_duplicates(folder: Path, lp_users: dict[str, int]) -> tuple[int, int]:
    """(duplicated rows, rows) of the ledger's completion log: one row per (share, owner learner, owner activity)
    expected, each under the pseudonym of an lp user."""
    by_key = {learner_key(SECRET.encode(), "lp", uid): uid for uid in lp_users.values()}
    with Ledger.open(folder / "ledger.db", read_only=True) as ledger:
        rows = ledger.completions()
    seen: Counter[tuple[str, int, str]] = Counter()
    unknown = 0
    for row in rows:
        uid = by_key.get(row.learner_key)
        if uid is None:
            unknown += 1
            continue
        seen[(row.share_id, uid, row.owner_activity)] += 1
    return unknown + sum(n - 1 for n in seen.values()), len(rows)


def soak(args: argparse.Namespace, folder: Path) -> int:
    rng = random.Random(args.seed)
    t0 = time.monotonic()

    def say(text: str) -> None:
        if not args.quiet:
            print(f"[{time.monotonic() - t0:6.1f}s] {text}", file=sys.stderr, flush=True)

    say(f"sandbox: {args.shares} shares × {args.learners} learners, {args.latency * 1000:.0f} ms per call, over HTTP")
    sites = Sites(folder, args)
    try:
        assert sites.seeded is not None
        publish_shares(folder, sites.seeded)
        runner = Runner(write_config(folder, sites), sites)
        tally = Tally()

        say(f"1. SIGKILL trials ({args.trials}) …")
        killed_trials(runner, sites, tally, args.trials, rng, say)

        say("2. 503 storm: every call, then a burst the retries meet mid-run …")
        sites.ask("storm")
        named_run(runner, tally, "storm", *sync_args())
        sites.ask("calm")
        sites.ask("progress", 3)
        sites.ask("burst", args.burst)
        named_run(runner, tally, "burst", *sync_args())
        sites.ask("calm")

        say("3. the server killed during a run and started again …")
        rewrites_before_kill = sites.ask("rewrites")
        sites.ask("progress", 6)
        process = runner.start(*sync_args())
        time.sleep(rng.uniform(0.4, 0.8) * max(1.5, tally.typical))
        server_killed_mid_run = process.poll() is None
        sites.kill()
        process.wait(timeout=120)
        tally.exits[f"server-killed:{process.returncode}"] += 1
        sites.start()
        named_run(runner, tally, "after-restart", *sync_args())

        say("4. a poisoned record (timemodified 10^13) …")
        poisoned = sites.ask("poison")
        poisoned_code = named_run(runner, tally, "poisoned", *sync_args())
        killed_trials(runner, sites, tally, tally.trials + 3, rng, say)  # killed runs with the poison in place
        sites.ask("repair", poisoned)
        named_run(runner, tally, "repaired", *sync_args())

        say(f"5. {args.resets} completions reset on the owner by hand …")
        reset = sites.ask("reset_owner", args.resets)
        named_run(runner, tally, "after-reset-incremental", *sync_args())
        missing_after_incremental = sites.ask("truth")["lost"]

        say("6. the last runs: incremental, --full, then sync check …")
        named_run(runner, tally, "last", *sync_args())
        named_run(runner, tally, "last-full", *sync_args(full=True))
        check_code, check_out = runner.run("check", "--json")
        truth = sites.ask("truth")
        rewrites = rewrites_before_kill + sites.ask("rewrites")
    finally:
        sites.stop()
    try:
        check = json.loads(check_out)
        drift = int(check["drift"])
    except (ValueError, KeyError):
        check, drift = {}, -1
    duplicated, rows = ledger_duplicates(folder, truth["lp_users"])
    lost = int(truth["lost"])
    ok = lost == 0 and duplicated == 0 and drift == 0 and check_code == 0 and tally.trials >= args.trials

    print(f"trials: {tally.trials}")
    print(f"lost: {lost}")
    print(f"duplicated: {duplicated}")
    print(f"drift: {drift}")
    print(f"\ncompletions on the borrower: {truth['borrower']}, on the owner: {truth['owner']}, in the ledger: {rows}; "
          f"owner holds beyond the borrower: {truth['extra']}")
    print(f"server killed mid-run: {'yes' if server_killed_mid_run else 'no (the run had finished)'}")
    print(f"runs finished before their kill: {tally.finished_before_kill} (typical run {tally.typical:.1f} s, "
          f"longest {tally.longest:.1f} s)")
    print(f"poisoned record: the run with it exited {poisoned_code} (4: a failed item, the rest went through); "
          f"repaired, it came back")
    print(f"owner-side reset: {reset} completions; missing after an incremental run: {missing_after_incremental}; "
          f"after --full: {lost}")
    print(f"owner rewrites (at-least-once after a kill between write and commit; information): {rewrites}")
    print(f"exit codes: {dict(sorted(tally.exits.items()))}; sync check exit {check_code}")
    with Ledger.open(folder / "ledger.db", read_only=True) as ledger:
        left = ledger.list_failures()
    print(f"failed items left after the last run: {len(left)}")
    print(f"seconds: {time.monotonic() - t0:.0f}")
    if args.verbose:
        for name, output in tally.outputs.items():
            if output.strip():
                print(f"\n--- {name} ---\n{output.strip()}")
    if not ok:
        print("FAILED: lost, duplicated and drift must all be 0 (and sync check exit 0)", file=sys.stderr)
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=50, help="SIGKILLed runs (default 50)")
    parser.add_argument("--shares", type=int, default=3)
    parser.add_argument("--learners", type=int, default=30, help="learners per course (default 30)")
    parser.add_argument("--active", type=float, default=0.4, help="share of learners with something done at the start")
    parser.add_argument("--latency", type=float, default=0.025, help="seconds per call (default 0.025)")
    parser.add_argument("--burst", type=int, default=6, help="503s in a row in the mid-run burst (default 6)")
    parser.add_argument("--resets", type=int, default=5, help="completions reset on the owner (default 5)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", type=Path, help="keep the ledger, config and sandbox store in this folder")
    parser.add_argument("--quiet", action="store_true", help="print only the figures")
    parser.add_argument("--verbose", action="store_true", help="also print what the named runs printed")
    args = parser.parse_args(argv)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        return soak(args, args.keep)
    with tempfile.TemporaryDirectory(prefix="lmsbridge-soak-") as folder:
        return soak(args, Path(folder))


if __name__ == "__main__":
    raise SystemExit(main())

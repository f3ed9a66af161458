"""The partners' quarterly figures, counted from the ledger (and the configuration's agreement).

«Partene møtes hvert kvartal for å drøfte det strategiske samarbeidet og for å følge opp og videreutvikle
delingssamarbeidet» (seed 002). Everything here is a count, a date or a course/organisation name: no learner
appears (the ledger keeps learners only as pseudonyms, and those are only counted). Where each figure comes
from is part of the figures (``Source``): the ledger's events (share acts, notices), its completion log,
failed items and sync runs, the configuration (the agreement's term), or the platforms read at report time
(``report.live``: learners on the borrower platform, certificate groups).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from lmsbridge.config import Config
from lmsbridge.errors import ExitCode
from lmsbridge.ledger import SHARE_STATES, Event, Ledger, Share, ShareState, SyncRun
from lmsbridge.report.period import Period, day_of, end_of
from lmsbridge.sharing.term import TermStatus
from lmsbridge.workflows.agreement import agreement_status
from lmsbridge.workflows.notices import NOTICE_ACTION

Source = Literal["ledger", "config", "live", "none"]

#: Share acts (events) → the state they leave a share in.
ACTS: dict[str, ShareState] = {"request": "requested", "approve": "approved", "publish": "published",
                               "revoke": "revoked", "reject": "rejected"}
#: The states shown over time, in the order of a share's life.
STATES: tuple[str, ...] = tuple(SHARE_STATES)
#: ``lmsbridge sync check`` (lmsbridge.sync.check: the owner platforms against the borrowers) records its findings
#: as this event (details: ``checked`` learners, ``drift`` completions); with none yet, the report says so.
SYNC_CHECK_ACTION = "sync.check"
#: Notice kinds in the order shown; a share request e-mail is the ``request`` act's own notice, and the
#: notices of the acts that follow (``share-approve``, ``share-publish``, …) are counted together as ``share-act``.
NOTICE_KINDS: tuple[str, ...] = ("downtime", "upgrade", "renewal", "share-request", "share-act")


def notice_column(kind: str) -> str:
    """The column of the notices table a notice kind is counted in."""
    return "share-act" if kind.startswith("share-") and kind != "share-request" else kind


@dataclass(frozen=True)
class TermFigures:
    start: date
    end: date
    days_left: int
    valid: bool
    expiring: bool
    code: str
    renew_by: date
    next_term_start: date
    renewals: tuple[date, ...]
    warn_days: int


@dataclass(frozen=True)
class ShareFigures:
    """One shared course: the ledger's record of it, and its learners and completions."""

    share_id: str
    flow: str
    state: str
    course: str
    borrower_course: str
    owner_org: str
    borrower_org: str
    owner_platform: str
    borrower_platform: str
    completions_period: int
    completions_total: int
    learners_period: int
    learners_total: int
    #: Learners with something to bring back but no account on the owner platform (failed items,
    #: kind «unmatched», as the last sync run left them).
    without_owner_account: int
    #: Other failed items waiting for the next run (learners, activities, the share itself).
    failed_items: int
    #: Learners (participants) on the borrower platform, read live; None without ``--live``.
    borrower_learners: int | None = None


@dataclass(frozen=True)
class CertificateFigures:
    """One certificate course's groups on the owner platform (read live): counts and points only."""

    course: str
    platform: str
    due: date
    participants: int
    groups: dict[str, int]
    not_grouped: int
    points_earned: float
    points_possible: float
    manual: int


@dataclass(frozen=True)
class SyncFigures:
    runs: int
    runs_by_status: dict[str, int]
    #: Runs per week of the period (the week's last day → status → runs).
    runs_by_week: dict[date, dict[str, int]]
    written: int
    failed_items_now: dict[str, int]
    last_run_at: datetime | None
    last_run_status: str | None
    last_clean_run_at: datetime | None
    hours_since_clean_run: float | None
    drift: dict[str, Any] | None
    drift_source: Source


@dataclass(frozen=True)
class NoticeRow:
    """One notice written to a contact point: when, which kind, to whom, and what it was about (a platform
    and a window, the term's end, or a share and its course)."""

    at: datetime
    kind: str
    to: str
    about: str
    start: str = ""
    end: str = ""


@dataclass(frozen=True)
class WaitingRow:
    share_id: str
    state: str
    flow: str
    course: str
    owner_org: str
    borrower_org: str
    since: datetime
    days: int


@dataclass
class Figures:
    period: Period
    generated_at: datetime
    ledger: str
    lang: str
    term: TermFigures
    #: Shares in each state at the end of each week of the period (the week's last day → state → shares).
    states_by_week: dict[date, dict[str, int]]
    #: Share acts in the period (act → count).
    acts_period: dict[str, int]
    #: At the end of the period: flow → state → shares.
    flow_state: dict[str, dict[str, int]]
    shares: list[ShareFigures]
    sync: SyncFigures
    notices: list[NoticeRow]
    notices_by_kind: dict[str, int]
    waiting: list[WaitingRow]
    certificates: list[CertificateFigures] = field(default_factory=list)
    live: bool = False
    live_at: datetime | None = None
    live_errors: list[str] = field(default_factory=list)
    #: What ``report --live`` ends with when some live figures could not be read (ExitCode).
    live_exit_code: int = ExitCode.OK
    verified: bool | None = None
    events: int = 0
    head_hash: str | None = None

    @property
    def completions_period(self) -> int:
        return sum(s.completions_period for s in self.shares)

    @property
    def completions_total(self) -> int:
        return sum(s.completions_total for s in self.shares)

    @property
    def without_owner_account(self) -> int:
        return sum(s.without_owner_account for s in self.shares)

    @property
    def published_at_end(self) -> int:
        return sum(states.get("published", 0) for states in self.flow_state.values())

    def headline(self) -> dict[str, int | float | None]:
        """The figures shown first (also the page's ``data-figure`` numbers the browser test reads)."""
        return {
            "shares.published": self.published_at_end,
            "shares.waiting": sum(1 for w in self.waiting if w.state == "requested"),
            "completions.period": self.completions_period,
            "completions.total": self.completions_total,
            "learners.without_owner_account": self.without_owner_account,
            "sync.runs": self.sync.runs,
            "sync.failed_items": sum(self.sync.failed_items_now.values()),
            "notices.period": sum(self.notices_by_kind.values()),
            "term.days_left": self.term.days_left,
        }


# --- from the ledger -----------------------------------------------------------------------------------------


def _state_at(share: Share, acts: Sequence[Event], moment: datetime) -> str | None:
    """The share's state just before ``moment`` from its acts (None: not requested yet)."""
    state: str | None = None
    for event in acts:
        if event.at < moment and event.action in ACTS:
            state = ACTS[event.action]
    if state is None and share.created_at < moment and not acts:
        state = "requested"  # a share written before the workflow logged its acts
    return state


def _term(config: Config, today: date) -> TermFigures:
    status: TermStatus = agreement_status(config, today)
    agreement = config.agreement
    return TermFigures(status.current_term_start, status.current_term_end, status.days_left, status.valid,
                       status.expiring, status.code, status.current_term_end,
                       status.current_term_end + timedelta(days=1), tuple(sorted(agreement.renewals)),
                       agreement.warn_days)


def _sync(ledger: Ledger, period: Period, now: datetime) -> SyncFigures:
    runs: list[SyncRun] = ledger.runs(None, since=period.since, until=period.until)
    weeks = period.weeks()
    by_week: dict[date, dict[str, int]] = {week: dict.fromkeys(("ok", "partial", "failed"), 0) for week in weeks}
    for run in runs:
        week = next((w for w in weeks if day_of(run.started_at) <= w), weeks[-1])
        status = run.status if run.status in ("ok", "partial") else "failed"
        by_week[week][status] += 1
    failures = Counter(item.item_kind for item in ledger.list_failures())
    last = ledger.last_run()
    clean = ledger.last_run("ok")
    clean_at = (clean.finished_at or clean.started_at) if clean else None
    checks = ledger.events(actions=[SYNC_CHECK_ACTION])
    drift = dict(checks[-1].details, at=checks[-1].at.isoformat()) if checks else None
    return SyncFigures(
        runs=len(runs),
        runs_by_status=dict(Counter(run.status for run in runs)),
        runs_by_week=by_week,
        written=sum(int(run.counts.get("written", 0)) for run in runs),
        failed_items_now={kind: failures[kind] for kind in sorted(failures)},
        last_run_at=last.started_at if last else None,
        last_run_status=last.status if last else None,
        last_clean_run_at=clean_at,
        hours_since_clean_run=round((now - clean_at).total_seconds() / 3600, 1) if clean_at else None,
        drift=drift,
        drift_source="ledger" if checks else "none",
    )


def _notices(events: Iterable[Event], period: Period, shares: dict[str, Share]) -> list[NoticeRow]:
    rows = []
    for event in events:
        if event.at not in period:
            continue
        details = event.details
        if event.action == NOTICE_ACTION:
            about = str(details.get("from_platform") or details.get("term_end") or details.get("share")
                        or event.share_id or "")
            rows.append(NoticeRow(event.at, str(details.get("kind", "")), str(details.get("to", "")), about,
                                  str(details.get("start", "")), str(details.get("end", ""))))
        elif event.action == "request" and event.share_id in shares:
            # the request act writes its e-mail to the contact point (workflows.shares)
            share = shares[event.share_id]
            rows.append(NoticeRow(event.at, "share-request", share.contact_point,
                                  f"{share.id} {share.owner_course_shortname}"))
    return rows


def collect(ledger: Ledger, config: Config, period: Period, *, now: datetime, lang: str) -> Figures:
    """Every figure the ledger and the configuration hold for ``period`` (``now``: the time of the report)."""
    shares = {share.id: share for share in ledger.list_shares()}
    act_events = ledger.events(actions=[*ACTS, NOTICE_ACTION])
    acts: dict[str, list[Event]] = {}
    for event in act_events:
        if event.action in ACTS and event.share_id:
            acts.setdefault(event.share_id, []).append(event)
    period_end = period.until
    weeks = period.weeks()
    states_by_week = {}
    for week in weeks:
        moment = min(end_of(week), period_end)
        counts = dict.fromkeys(STATES, 0)
        for share in shares.values():
            state = _state_at(share, acts.get(share.id, []), moment)
            if state is not None:
                counts[state] += 1
        states_by_week[week] = counts
    flow_state: dict[str, dict[str, int]] = {}
    at_end: dict[str, str] = {}
    for share in shares.values():
        state = _state_at(share, acts.get(share.id, []), period_end)
        if state is None:
            continue
        at_end[share.id] = state
        row = flow_state.setdefault(share.flow, dict.fromkeys(STATES, 0))
        row[state] += 1
    acts_period = dict.fromkeys(ACTS, 0)
    for event in act_events:
        if event.action in ACTS and event.at in period:
            acts_period[event.action] += 1

    completions = ledger.completions()
    failures = ledger.list_failures()
    rows = []
    for share_id, state in at_end.items():
        share = shares[share_id]
        mine = [c for c in completions if c.share_id == share_id]
        recent = [c for c in mine if c.synced_at in period]
        if not mine and state not in ("published", "revoked"):
            continue  # not shared (yet): a request waiting or refused is not a shared course
        rows.append(ShareFigures(
            share_id=share_id, flow=share.flow, state=state, course=share.owner_course_shortname,
            borrower_course=share.borrower_course_shortname or "", owner_org=share.owner_org,
            borrower_org=share.borrower_org, owner_platform=share.owner_platform,
            borrower_platform=share.borrower_platform, completions_period=len(recent),
            completions_total=len(mine), learners_period=len({c.learner_key for c in recent}),
            learners_total=len({c.learner_key for c in mine}),
            without_owner_account=sum(1 for f in failures if f.share_id == share_id and f.item_kind == "unmatched"),
            failed_items=sum(1 for f in failures if f.share_id == share_id and f.item_kind != "unmatched"),
        ))

    notices = _notices(ledger.events(actions=[NOTICE_ACTION, "request"]), period, shares)
    by_kind = dict.fromkeys(NOTICE_KINDS, 0)
    for notice in notices:
        column = notice_column(notice.kind)
        by_kind[column] = by_kind.get(column, 0) + 1
    waiting = []
    for share in shares.values():
        if share.state in ("requested", "approved"):
            since = share.updated_at
            waiting.append(WaitingRow(share.id, share.state, share.flow, share.owner_course_shortname,
                                      share.owner_org, share.borrower_org, since, (day_of(now) - day_of(since)).days))
    report = ledger.verify()
    return Figures(
        period=period, generated_at=now, ledger=ledger.location, lang=lang, term=_term(config, day_of(now)),
        states_by_week=states_by_week, acts_period=acts_period, flow_state=flow_state, shares=rows,
        sync=_sync(ledger, period, now), notices=notices, notices_by_kind=by_kind, waiting=waiting,
        verified=report.ok, events=report.events, head_hash=report.head_hash,
    )


__all__ = [
    "ACTS",
    "NOTICE_KINDS",
    "STATES",
    "SYNC_CHECK_ACTION",
    "CertificateFigures",
    "Figures",
    "NoticeRow",
    "ShareFigures",
    "Source",
    "SyncFigures",
    "TermFigures",
    "WaitingRow",
    "collect",
]

"""The report's three forms: one self-contained HTML page (Jinja2, charts as inline SVG), JSON and CSV.

The page has no script, no link and no font to fetch: it opens from disk, and prints to A4 (``@page``). Its
texts are message codes rendered in the report's language; the template may use only the codes listed here
(``TEXTS``, where ``pybabel extract`` finds them too), so a text cannot go missing from the catalogues.
Every headline number carries ``data-figure="<name>"`` (the names of ``Figures.headline``), so a reader can
check the page against the ledger.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from lmsbridge import __version__, i18n
from lmsbridge.certificates import GROUP_NAMES
from lmsbridge.errors import LmsbridgeError
from lmsbridge.i18n import N_
from lmsbridge.report.figures import ACTS, NOTICE_KINDS, Figures
from lmsbridge.report.period import OSLO

STATE_TEXTS = {"requested": N_("report.state.requested"), "approved": N_("report.state.approved"),
               "published": N_("report.state.published"), "revoked": N_("report.state.revoked"),
               "rejected": N_("report.state.rejected")}
FLOW_TEXTS = {"hospital-to-ks": N_("report.flow.hospital-to-ks"),
              "ks-orders-from-hospital": N_("report.flow.ks-orders-from-hospital"),
              "hospital-shares-ks-course": N_("report.flow.hospital-shares-ks-course")}
ACT_TEXTS = {"request": N_("report.act.request"), "approve": N_("report.act.approve"),
             "publish": N_("report.act.publish"), "revoke": N_("report.act.revoke"), "reject": N_("report.act.reject")}
RUN_TEXTS = {"ok": N_("report.run.ok"), "partial": N_("report.run.partial"), "failed": N_("report.run.failed")}
FAILURE_TEXTS = {"learner": N_("report.failure.learner"), "activity": N_("report.failure.activity"),
                 "share": N_("report.failure.share"), "unmatched": N_("report.failure.unmatched")}
NOTICE_TEXTS = {"downtime": N_("report.notice.downtime"), "upgrade": N_("report.notice.upgrade"),
                "renewal": N_("report.notice.renewal"), "share-request": N_("report.notice.share-request"),
                "share-act": N_("report.notice.share-act"), "share-approve": N_("report.notice.share-approve"),
                "share-reject": N_("report.notice.share-reject"), "share-withdraw": N_("report.notice.share-withdraw"),
                "share-publish": N_("report.notice.share-publish"), "share-revoke": N_("report.notice.share-revoke")}
#: The summary tiles: (headline figure, its label).
TILES: tuple[tuple[str, str], ...] = (
    ("shares.published", N_("report.tile.published")),
    ("shares.waiting", N_("report.tile.waiting")),
    ("completions.period", N_("report.tile.completions")),
    ("learners.without_owner_account", N_("report.tile.without_account")),
    ("sync.runs", N_("report.tile.runs")),
    ("sync.failed_items", N_("report.tile.failed")),
    ("notices.period", N_("report.tile.notices")),
    ("term.days_left", N_("report.tile.days_left")),
)
#: Every other code the template and the charts use.
TEXTS: frozenset[str] = frozenset({
    *STATE_TEXTS.values(), *FLOW_TEXTS.values(), *ACT_TEXTS.values(), *RUN_TEXTS.values(),
    *FAILURE_TEXTS.values(), *NOTICE_TEXTS.values(), *(code for _, code in TILES),
    N_("report.title"), N_("report.subtitle"), N_("report.generated"),
    N_("report.section.agreement"), N_("report.section.shares"), N_("report.section.courses"),
    N_("report.section.certificates"), N_("report.section.sync"), N_("report.section.notices"),
    N_("report.section.waiting"),
    N_("report.term.current"), N_("report.term.days_left"), N_("report.term.renew_by"), N_("report.term.next_starts"),
    N_("report.term.renewals"), N_("report.term.warning"), N_("report.term.warn_days"),
    N_("report.acts.in_period"), N_("report.col.act"), N_("report.col.share"), N_("report.col.course"),
    N_("report.col.parties"), N_("report.col.state"), N_("report.col.borrower_learners"),
    N_("report.col.completions"), N_("report.col.learners_back"), N_("report.col.without_account"),
    N_("report.col.failed"), N_("report.col.due"), N_("report.col.participants"), N_("report.col.points"),
    N_("report.col.manual"), N_("report.col.when"), N_("report.col.kind"), N_("report.col.to"),
    N_("report.col.about"), N_("report.col.since"), N_("report.col.days"), N_("report.col.total"),
    N_("report.caption.states"), N_("report.caption.flows"), N_("report.caption.completions"),
    N_("report.caption.certificates"), N_("report.caption.runs"),
    N_("report.chart.shares"), N_("report.chart.week_ending"), N_("report.chart.all_time"),
    N_("report.chart.in_period"), N_("report.chart.completions"), N_("report.chart.participants"),
    N_("report.chart.runs"), N_("report.certificates.not_grouped"),
    N_("report.empty.shares"), N_("report.empty.courses"), N_("report.empty.certificates"),
    N_("report.empty.waiting"),
    N_("report.source.config"), N_("report.source.events"), N_("report.source.courses"),
    N_("report.source.live_learners"), N_("report.source.no_live"), N_("report.source.live_certificates"),
    N_("report.source.no_live_certificates"), N_("report.source.sync"), N_("report.source.notices"),
    N_("report.source.shares_now"),
    N_("report.sync.runs"), N_("report.sync.by_status"), N_("report.sync.written"), N_("report.sync.failed_now"),
    N_("report.sync.last_run"), N_("report.sync.since_clean"), N_("report.sync.hours"),
    N_("report.sync.never_clean"), N_("report.sync.drift"), N_("report.sync.drift_found"),
    N_("report.sync.no_check"),
    N_("report.footer.privacy"), N_("report.footer.verified"), N_("report.footer.not_verified"),
    N_("report.footer.ledger"),
})


class Texts:
    """``t(code, **values)`` for the template and the charts, in one language; an unlisted code is a bug."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __call__(self, code: str, **values: Any) -> str:
        if code not in TEXTS:
            raise LmsbridgeError(f"report text {code!r} is not listed in lmsbridge.report.render.TEXTS")
        return i18n.t(code, self.lang, **values)

    def day(self, value: date) -> str:
        return f"{value:%d.%m.%Y}" if self.lang == "nb" else value.isoformat()

    def moment(self, value: datetime) -> str:
        local = value.astimezone(OSLO)
        return f"{self.day(local.date())} {local:%H:%M}"

    def number(self, value: float | None) -> str:
        if value is None:
            return "–"
        text = f"{value:g}" if isinstance(value, float) else str(value)
        return text.replace(".", ",") if self.lang == "nb" else text

    def window(self, start: str, end: str) -> str:
        try:
            begin, finish = datetime.fromisoformat(start), datetime.fromisoformat(end)
        except ValueError:
            return f"{start} – {end}"
        same_day = begin.astimezone(OSLO).date() == finish.astimezone(OSLO).date()
        return f"{self.moment(begin)} – {finish.astimezone(OSLO):%H:%M}" if same_day else \
            f"{self.moment(begin)} – {self.moment(finish)}"


def _environment(texts: Texts) -> Environment:
    env = Environment(loader=PackageLoader("lmsbridge.report", "templates"), autoescape=select_autoescape(["j2"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(day=texts.day, moment=texts.moment, number=texts.number, window=texts.window)
    return env


def _tile_state(name: str, figures: Figures) -> str:
    if name == "term.days_left":
        return "bad" if not figures.term.valid else "warn" if figures.term.expiring else ""
    if name in ("sync.failed_items", "learners.without_owner_account"):
        return "warn" if figures.headline()[name] else ""
    return ""


def render_html(figures: Figures) -> str:
    """The page, in the figures' language."""
    from lmsbridge.report.charts import draw_all

    texts = Texts(figures.lang)
    term_reason = i18n.t(figures.term.code, figures.lang, start=figures.term.start.isoformat(),
                         end=figures.term.end.isoformat(), days_left=figures.term.days_left)
    return _environment(texts).get_template("report.html.j2").render(
        f=figures, t=texts, lang=figures.lang, version=__version__, headline=figures.headline(),
        tiles=[(name, code, _tile_state(name, figures)) for name, code in TILES], charts=draw_all(figures, texts),
        acts=list(ACTS), act_texts=ACT_TEXTS, state_texts=STATE_TEXTS, flow_texts=FLOW_TEXTS, run_texts=RUN_TEXTS,
        run_statuses=list(RUN_TEXTS), failure_texts=FAILURE_TEXTS, notice_texts=NOTICE_TEXTS,
        notice_kinds=list(NOTICE_KINDS), group_names=GROUP_NAMES, term_reason=term_reason,
        ledger_name=figures.ledger.rsplit("/", 1)[-1],
    )


def as_data(figures: Figures) -> dict[str, Any]:
    """The figures as JSON-ready data (dates and times as ISO 8601; weeks keyed by their last day)."""
    data = dataclasses.asdict(figures)
    data["states_by_week"] = {week.isoformat(): states for week, states in figures.states_by_week.items()}
    data["sync"]["runs_by_week"] = {week.isoformat(): runs for week, runs in figures.sync.runs_by_week.items()}
    data["period"] = {"label": figures.period.label, "start": figures.period.start, "end": figures.period.end}
    data["headline"] = figures.headline()
    plain: dict[str, Any] = json.loads(json.dumps(data, default=_iso))
    return plain


def _iso(value: object) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def render_json(figures: Figures) -> str:
    return json.dumps(as_data(figures), ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def _rows(figures: Figures) -> Iterator[tuple[str, str, str, object, str]]:
    """(section, figure, breakdown, value, source): one number per row."""
    for name, value in figures.headline().items():
        yield "headline", name, "", value, "config" if name.startswith("term.") else "ledger"
    for week, states in figures.states_by_week.items():
        for state, n in states.items():
            yield "shares_by_week", state, week.isoformat(), n, "ledger"
    for flow, states in figures.flow_state.items():
        for state, n in states.items():
            yield "shares_by_flow", state, flow, n, "ledger"
    for act, n in figures.acts_period.items():
        yield "acts", act, "", n, "ledger"
    for share in figures.shares:
        for name in ("completions_period", "completions_total", "learners_period", "learners_total",
                     "without_owner_account", "failed_items"):
            yield "courses", name, f"{share.share_id} {share.course}", getattr(share, name), "ledger"
        if share.borrower_learners is not None:
            yield "courses", "borrower_learners", f"{share.share_id} {share.course}", share.borrower_learners, "live"
    for cert in figures.certificates:
        for group, n in cert.groups.items():
            yield "certificates", group, cert.course, n, "live"
        yield "certificates", "not_grouped", cert.course, cert.not_grouped, "live"
        yield "certificates", "points_earned", cert.course, cert.points_earned, "live"
    for week, statuses in figures.sync.runs_by_week.items():
        for status, n in statuses.items():
            yield "sync_runs_by_week", status, week.isoformat(), n, "ledger"
    for kind, n in figures.sync.failed_items_now.items():
        yield "sync_failed_items", kind, "", n, "ledger"
    for kind, n in figures.notices_by_kind.items():
        yield "notices", kind, "", n, "ledger"


def render_csv(figures: Figures) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "figure", "breakdown", "value", "source"])
    writer.writerows(_rows(figures))
    return out.getvalue()


__all__ = ["TEXTS", "Texts", "as_data", "render_csv", "render_html", "render_json"]

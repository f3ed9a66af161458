"""The report's charts: matplotlib drawings as inline SVG (text as paths: no font or network needed to show
them, and they print sharp).

matplotlib is imported here only, when a report is drawn: the CLI's other commands never pay for it.
Each chart is a function of the figures and a translator; one with nothing to show is None (the page says
so in words instead).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from lmsbridge.certificates import GROUP_NAMES
from lmsbridge.report.figures import STATES, Figures
from lmsbridge.report.render import FLOW_TEXTS, RUN_TEXTS, STATE_TEXTS

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.ticker import Locator

Translate = Callable[..., str]

STATE_COLOURS = {"requested": "#f2b134", "approved": "#4e79a7", "published": "#59a14f", "revoked": "#9c755f",
                 "rejected": "#e15759"}
RUN_COLOURS = {"ok": "#59a14f", "partial": "#f2b134", "failed": "#e15759"}
GROUP_COLOURS = dict(zip(GROUP_NAMES, ("#59a14f", "#f2b134", "#bab0ac"), strict=True))
NOT_GROUPED_COLOUR = "#dcdcdc"
WIDTH = 7.2  # inches: the width of an A4 page's text at 96 dpi, so the charts print at their drawn size


def _svg(draw: Callable[[Axes], None], *, name: str, height: float) -> str:
    """Draw on one axes and return the SVG element (no XML prolog) for inlining."""
    import matplotlib
    from matplotlib.figure import Figure

    settings: Any = {"svg.fonttype": "path", "svg.hashsalt": name, "font.size": 9, "axes.spines.top": False,
                "axes.spines.right": False, "axes.titlesize": 10, "legend.frameon": False}
    with matplotlib.rc_context(settings):
        figure = Figure(figsize=(WIDTH, height), layout="constrained")
        draw(figure.add_subplot())
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    # the element only: no XML prolog (invalid inside HTML), no RDF metadata block
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", text[text.index("<svg"):], flags=re.DOTALL)
    return _own_ids(svg, name)


def _own_ids(svg: str, prefix: str) -> str:
    """Every id of one drawing prefixed with its name: the page holds several, and matplotlib numbers each
    from 1 (``figure_1``, the glyphs ``DejaVuSans-30``), so ids and the references to them would collide."""
    ids = set(re.findall(r'\bid="([^"]+)"', svg))

    def rename(found: re.Match[str]) -> str:
        return f"{found.group(1)}{prefix}-{found.group(2)}" if found.group(2) in ids else found.group(0)

    return re.sub(r'(\bid="|href="#|url\(#)([^")]+)', rename, svg)


def _whole_numbers() -> Locator:
    """Ticks at whole numbers only: the charts count shares, runs and people."""
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def _day(day: date) -> str:
    return f"{day:%d.%m}"


def _stacked_bars(axes: Axes, labels: Sequence[str], series: Mapping[str, Sequence[float]],
                  colours: Mapping[str, str], names: Mapping[str, str], *, horizontal: bool = False) -> None:
    base = [0.0] * len(labels)
    positions = list(range(len(labels)))
    for key, values in series.items():
        if not any(values):
            continue
        if horizontal:
            axes.barh(positions, values, left=base, color=colours[key], label=names[key], height=0.6)
        else:
            axes.bar(positions, values, bottom=base, color=colours[key], label=names[key], width=0.7)
        base = [b + v for b, v in zip(base, values, strict=True)]
    if horizontal:
        axes.set_yticks(positions, labels)
        axes.invert_yaxis()
        axes.xaxis.set_major_locator(_whole_numbers())
    else:
        axes.set_xticks(positions, labels)
        axes.yaxis.set_major_locator(_whole_numbers())
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)


def _weekly(by_week: Mapping[date, Mapping[str, int]], colours: Mapping[str, str], names: Mapping[str, str], *,
            ylabel: str, xlabel: str, name: str) -> str:
    """Stacked bars, one per week of the period (labelled by its last day), one colour per key."""
    weeks = list(by_week)
    series = {key: [by_week[w][key] for w in weeks] for key in colours}

    def draw(axes: Axes) -> None:
        _stacked_bars(axes, [_day(w) for w in weeks], series, colours, names)
        axes.set_ylabel(ylabel)
        axes.set_xlabel(xlabel)

    return _svg(draw, name=name, height=2.4)


def states_over_time(figures: Figures, t: Translate) -> str | None:
    """Shares in each state at the end of each week: «shares by state over time»."""
    if not any(sum(states.values()) for states in figures.states_by_week.values()):
        return None
    return _weekly(figures.states_by_week, {state: STATE_COLOURS[state] for state in STATES},
                   {state: t(STATE_TEXTS[state]) for state in STATES}, ylabel=t("report.chart.shares"),
                   xlabel=t("report.chart.week_ending"), name="states")


def flows_by_state(figures: Figures, t: Translate) -> str | None:
    """At the end of the period: each flow's shares by state."""
    flows = sorted(figures.flow_state)
    if not flows:
        return None
    series = {state: [figures.flow_state[f][state] for f in flows] for state in STATES}
    names = {state: t(STATE_TEXTS[state]) for state in STATES}

    def draw(axes: Axes) -> None:
        _stacked_bars(axes, [t(FLOW_TEXTS[f]) for f in flows], series, STATE_COLOURS, names, horizontal=True)
        axes.set_xlabel(t("report.chart.shares"))

    return _svg(draw, name="flows", height=0.6 + 0.45 * len(flows))


def completions_by_course(figures: Figures, t: Translate) -> str | None:
    """Completions brought back to the owner per shared course: in the period and in all."""
    rows = [s for s in figures.shares if s.completions_total]
    if not rows:
        return None
    labels = [f"{s.course} ({s.share_id})" for s in rows]

    def draw(axes: Axes) -> None:
        positions = list(range(len(rows)))
        axes.barh([p + 0.2 for p in positions], [s.completions_total for s in rows], height=0.4, color="#bab0ac",
                  label=t("report.chart.all_time"))
        axes.barh([p - 0.2 for p in positions], [s.completions_period for s in rows], height=0.4, color="#4e79a7",
                  label=t("report.chart.in_period"))
        axes.set_yticks(positions, labels)
        axes.invert_yaxis()
        axes.xaxis.set_major_locator(_whole_numbers())
        axes.set_xlabel(t("report.chart.completions"))
        axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)

    return _svg(draw, name="completions", height=0.7 + 0.5 * len(rows))


def certificate_groups(figures: Figures, t: Translate) -> str | None:
    """Each certificate course's participants by group («Fullført 100%» … and not grouped yet)."""
    rows = [c for c in figures.certificates if c.participants]
    if not rows:
        return None
    series: dict[str, list[float]] = {name: [float(c.groups.get(name, 0)) for c in rows] for name in GROUP_NAMES}
    series["none"] = [float(c.not_grouped) for c in rows]
    names = {**{name: name for name in GROUP_NAMES}, "none": t("report.certificates.not_grouped")}
    colours = {**GROUP_COLOURS, "none": NOT_GROUPED_COLOUR}

    def draw(axes: Axes) -> None:
        _stacked_bars(axes, [c.course for c in rows], series, colours, names, horizontal=True)
        axes.set_xlabel(t("report.chart.participants"))

    return _svg(draw, name="certificates", height=0.7 + 0.45 * len(rows))


def sync_runs(figures: Figures, t: Translate) -> str | None:
    """Sync runs per week of the period by outcome (ok, some items failed, failed)."""
    if not figures.sync.runs:
        return None
    return _weekly(figures.sync.runs_by_week, RUN_COLOURS, {status: t(RUN_TEXTS[status]) for status in RUN_COLOURS},
                   ylabel=t("report.chart.runs"), xlabel=t("report.chart.week_ending"), name="runs")


def draw_all(figures: Figures, t: Translate) -> dict[str, Any]:
    return {
        "states": states_over_time(figures, t),
        "flows": flows_by_state(figures, t),
        "completions": completions_by_course(figures, t),
        "certificates": certificate_groups(figures, t),
        "runs": sync_runs(figures, t),
    }


__all__ = ["draw_all"]

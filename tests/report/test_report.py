"""``lmsbridge report`` on the ledger the demo leaves behind: the page's numbers are the ledger's, it names
no learner, it opens from disk in a real browser without errors or network, and JSON and CSV say the same.

The browser test needs Chromium (Debian's package ``chromium``): without it the test is skipped, unless
``LMSBRIDGE_REQUIRE_BROWSER=1`` (CI sets it), when it fails.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lmsbridge.cli.demo import run_demo
from lmsbridge.cli.main import cli
from lmsbridge.config import load_config
from lmsbridge.ledger import Ledger
from lmsbridge.report.browser import Chromium, file_url, find_chromium
from lmsbridge.report.period import OSLO
from lmsbridge.workflows.agreement import agreement_status

pytestmark = pytest.mark.slow

SITES = Path(__file__).resolve().parents[2] / "lmsbridge" / "sandbox" / "data" / "sites.json"
FIGURES_JS = ("Object.fromEntries([...document.querySelectorAll('[data-figure]')]"
              ".map(e => [e.dataset.figure, e.textContent.trim()]))")


@dataclass(frozen=True)
class Demo:
    folder: Path
    config: Path
    report: Path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo's story, kept: its ledger, and the report it ends with (read live from its sandbox)."""
    folder = tmp_path_factory.mktemp("demo") / "files"
    ok, runs, _ = run_demo(cli, keep=folder, capture=True, report=folder / "report.html")
    assert ok, [(r.args, r.exit_code, r.output) for r in runs if not r.ok]
    assert runs[-1].args[:2] == ["report", "--live"]
    yield Demo(folder, folder / "lmsbridge.toml", folder / "report.html")


def run(demo: Demo, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(demo.config), *args], catch_exceptions=False)


def expected_headline(demo: Demo) -> dict[str, int]:
    """The headline figures counted straight from the ledger, not through lmsbridge.report."""
    with Ledger.open(demo.folder / "ledger.db") as ledger:
        notices = [m for m in ledger.messages() if m.kind.startswith("notice-")]
        requests = [e for e in ledger.events() if e.action == "request"]
        return {
            "shares.published": len(ledger.list_shares(state="published")),
            "shares.waiting": len(ledger.list_shares(state="requested")),
            "completions.period": len(ledger.completions()),
            "completions.total": len(ledger.completions()),
            "learners.without_owner_account": len(ledger.list_failures(item_kind="unmatched")),
            "sync.runs": len(ledger.runs(None)),
            "sync.failed_items": len(ledger.list_failures()),
            "notices.period": len(notices) + len(requests),
            "term.days_left": agreement_status(load_config(demo.config), datetime.now(OSLO).date()).days_left,
        }


def learner_identities() -> set[str]:
    """Every sandbox user's name, e-mail address and username (the people who must not appear)."""
    sites = json.loads(SITES.read_text(encoding="utf-8"))["sites"]
    found: set[str] = set()
    for site in sites.values():
        for user in site.get("users", []):
            if user.get("username") in ("admin", "guest", "lmsbridge"):
                continue
            found |= {f"{user.get('firstname', '')} {user.get('lastname', '')}".strip(), user.get("email", ""),
                      user.get("username", "")}
    return {value for value in found if value and len(value) > 3}


# --- the page -------------------------------------------------------------------------------------------------


def test_the_demo_writes_a_self_contained_page_with_charts(demo: Demo) -> None:
    page = demo.report.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and 'lang="nb"' in page
    # nothing to fetch: no script, link, image source or CSS url (the SVGs' xmlns are names, not requests)
    for fetching in ("<script", "<link", "<img", "src=", 'href="http', "@import", "@font-face"):
        assert fetching not in page, fetching
    assert re.findall(r"url\((?!#)", page) == []  # only the charts' own clip paths
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "the inline charts' ids collide"
    assert "<metadata>" not in page
    assert page.count("<svg") >= 5  # states over time, flows, completions, certificate groups, sync runs
    for section in ("agreement", "shares", "courses", "certificates", "sync", "notices", "waiting"):
        assert f'<section id="{section}"' in page
    assert "@page { size: A4" in page


def test_the_page_names_no_learner(demo: Demo) -> None:
    page = demo.report.read_text(encoding="utf-8").casefold()
    named = sorted(who for who in learner_identities() if who.casefold() in page)
    assert not named
    assert len(learner_identities()) > 10  # the check looks for real people


def test_the_live_figures_are_in_the_page(demo: Demo) -> None:
    page = demo.report.read_text(encoding="utf-8")
    assert "Fullført 100%" in page and "Fullført, ikke 100%" in page and "Inaktiv" in page
    assert "lest fra plattformene" in page  # where the learners on the borrower platform come from


def test_in_the_browser_the_numbers_are_the_ledgers_and_there_are_no_errors(demo: Demo) -> None:
    if find_chromium() is None:
        if os.environ.get("LMSBRIDGE_REQUIRE_BROWSER") == "1":
            pytest.fail("LMSBRIDGE_REQUIRE_BROWSER=1 but no Chromium was found (apt-get install chromium)")
        pytest.skip("no Chromium (Debian package chromium); CI sets LMSBRIDGE_REQUIRE_BROWSER=1 and installs it")
    with Chromium() as browser:
        check = browser.check_page(file_url(demo.report), width=1000, evaluate={"figures": FIGURES_JS})
    assert check.errors == []
    assert check.requests == []  # nothing fetched: it opens from disk with no network
    figures = check.values["figures"]
    for name, value in expected_headline(demo).items():
        assert figures[name] == str(value), name
    assert figures["term.days_left.table"] == figures["term.days_left"]
    assert figures["sync.runs.table"] == figures["sync.runs"]
    # not blank: a real picture of some height, with ink on it
    import matplotlib.image

    pixels = matplotlib.image.imread(io.BytesIO(check.png), format="png")
    height, width = pixels.shape[:2]
    assert width == 1000 and height > 2000
    ink = (pixels[..., :3].mean(axis=2) < 0.8).mean()
    assert ink > 0.02, f"only {ink:.1%} of the page is not white"
    assert len({tuple(p) for p in pixels[::40, ::40, :3].reshape(-1, 3).round(2).tolist()}) > 10  # colours


# --- the other forms ---------------------------------------------------------------------------------------------


def test_json_and_csv_say_what_the_ledger_says(demo: Demo) -> None:
    expected = expected_headline(demo)
    data = json.loads(run(demo, "report", "-o", "json").output)
    assert data["headline"] == expected
    assert data["period"]["label"].endswith(f"Q{(date.today().month - 1) // 3 + 1}")
    rows = list(csv.DictReader(io.StringIO(run(demo, "report", "-o", "csv").output)))
    headline = {r["figure"]: int(r["value"]) for r in rows if r["section"] == "headline"}
    assert headline == expected
    assert {r["source"] for r in rows} <= {"ledger", "config", "live"}
    with Ledger.open(demo.folder / "ledger.db") as ledger:
        by_share = {c.share_id for c in ledger.completions()}
        for share_id in by_share:
            total = sum(1 for c in ledger.completions() if c.share_id == share_id)
            (row,) = [s for s in data["shares"] if s["share_id"] == share_id]
            assert row["completions_total"] == total
    text = json.dumps(data).casefold() + run(demo, "report", "-o", "csv").output.casefold()
    assert not [who for who in learner_identities() if who.casefold() in text]


def test_in_english_with_a_quarter_and_a_file(demo: Demo, tmp_path: Path) -> None:
    target = tmp_path / "q.html"
    result = CliRunner().invoke(cli, ["--config", str(demo.config), "--lang", "en", "report", "--quarter", "2026Q1",
                                      "--out", str(target)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"Report written: {target.resolve()}"
    page = html.unescape(target.read_text(encoding="utf-8"))
    assert 'lang="en"' in page and "Quarterly report for the partners' meeting: 2026Q1" in page
    assert "Fullføringer" not in page


def test_a_past_quarter_counts_only_what_happened_in_it(demo: Demo) -> None:
    data = json.loads(run(demo, "report", "--quarter", "2016Q3", "-o", "json").output)
    assert data["headline"]["completions.period"] == 0 and data["headline"]["notices.period"] == 0
    assert data["headline"]["shares.published"] == 0  # nothing was shared by the end of 2016Q3
    assert data["period"] == {"label": "2016Q3", "start": "2016-07-01", "end": "2016-09-30"}


def test_usage_errors(demo: Demo, tmp_path: Path) -> None:
    assert run(demo, "report", "--quarter", "2026Q9").exit_code == 2
    both = run(demo, "report", "--quarter", "2026Q4", "--from", "2026-10-01")
    assert both.exit_code == 2 and "--quarter" in both.output
    missing = tmp_path / "none.toml"
    missing.write_text(f'ledger = "{tmp_path / "nothing.db"}"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(missing), "report"])
    assert result.exit_code == 2 and "nothing.db" in result.output and "Traceback" not in result.output


def test_a_notice_sent_shows_in_the_next_report(demo: Demo, tmp_path: Path) -> None:
    before = json.loads(run(demo, "report", "-o", "json").output)["notices_by_kind"]
    run(demo, "notify", "renewal")
    after = json.loads(run(demo, "report", "-o", "json").output)
    assert after["notices_by_kind"]["renewal"] == before["renewal"] + 2  # both contact points
    assert {n["to"] for n in after["notices"] if n["kind"] == "renewal"} == {"kslaring@ks.no",
                                                                            "elaring@helse-bergen.no"}
    assert datetime.fromisoformat(after["generated_at"]).tzinfo is not None
    assert datetime.fromisoformat(after["generated_at"]) <= datetime.now(UTC)

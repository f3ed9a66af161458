"""``lmsbridge sandbox serve``: the local Moodle-compatible sites in the foreground."""

from __future__ import annotations

import contextlib
import re
import secrets
import threading
from datetime import date
from pathlib import Path

import click

from lmsbridge import i18n
from lmsbridge.cli.config import make_ledger, write_config, write_secret_file
from lmsbridge.config import CertificateDraft, Config, ConfigDraft, PlatformDraft, renewals_until
from lmsbridge.domain import PlatformRole
from lmsbridge.errors import InputError
from lmsbridge.i18n import N_, Message
from lmsbridge.sandbox import FAULT_MODES, Sandbox, SeedSpec
from lmsbridge.sandbox.seed import add_receipt_field

_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s)?\s*$")


class Duration(click.ParamType):  # type: ignore[type-arg]
    """Seconds, written 25ms, 0.5s or 0.025."""

    name = "duration"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, int | float):
            return float(value)
        match = _DURATION.match(str(value))
        if not match:
            self.fail(i18n.t("sandbox.bad_duration", value=value), param, ctx)
        number = float(match.group(1))
        return number / 1000 if match.group(2) == "ms" else number


def wait_until_interrupted() -> None:
    """Block the foreground until Ctrl-C (tests replace this)."""
    threading.Event().wait()


@click.group("sandbox")
def sandbox_group() -> None:
    """Local Moodle-compatible test sites (KS Læring and a Læringsportal).

    \b
    Example:
      lmsbridge sandbox serve
    """


@sandbox_group.command(
    "serve",
    epilog="""\b
Examples:
  lmsbridge sandbox serve                                  # ks and lp on free ports
  lmsbridge sandbox serve --port-ks 8081 --port-lp 8082    # fixed ports, as on the lab sites
  lmsbridge sandbox serve --latency 25ms --fault-rate 0.1  # slow and unreliable, for testing retries
  lmsbridge sandbox serve --state sandbox.sqlite           # keep the sites' data between runs
  lmsbridge sandbox serve --courses 50 --enrolments 200    # bulk data for benchmarks
  lmsbridge sandbox serve --write-config try/lmsbridge.toml # then, in another terminal:
                                                           #   lmsbridge --config try/lmsbridge.toml doctor
""",
)
@click.option("--latency", type=Duration(), default="0ms", show_default=True, help="Delay added to every call, e.g. 25ms.")
@click.option("--fault-rate", type=click.FloatRange(0.0, 1.0), default=0.0, show_default=True,
              help="Share of calls answered with a fault.")
@click.option("--fault-mode", type=click.Choice(FAULT_MODES), default="503", show_default=True,
              help="503: HTTP 503; drop: connection dropped before the call runs; drop_after: after it ran.")
@click.option("--fault-seed", type=int, default=0, show_default=True, help="Seed of the fault draws.")
@click.option("--state", "state_path", type=click.Path(dir_okay=False, path_type=Path),
              help="SQLite file that keeps the sites between runs (created if missing).")
@click.option("--port-ks", type=click.IntRange(0, 65535), default=0, help="Port of the KS Læring site (0: any free port).")
@click.option("--port-lp", type=click.IntRange(0, 65535), default=0, help="Port of the Læringsportal site (0: any free port).")
@click.option("--seed", type=click.Choice(["default", "empty"]), default="default", show_default=True,
              help="default: the recorded lab sites; empty: users, fields and categories only.")
@click.option("--courses", type=click.IntRange(0), default=0, help="Synthetic courses to add per site.")
@click.option("--enrolments", type=click.IntRange(0), default=0, help="Learners enrolled in each synthetic course.")
@click.option("--debug", is_flag=True, help="Error answers carry debuginfo, as with Moodle's debugging on.")
@click.option("--write-config", "config_file", type=click.Path(dir_okay=False, path_type=Path), metavar=N_("metavar.file"),
              help="Write a configuration for these sites to FILE, with their tokens, a pseudonym secret, an empty "
              "ledger and the outbox beside it, and add the receipt field each site's admin adds (README): "
              "`lmsbridge --config FILE doctor` passes.")
def serve(latency: float, fault_rate: float, fault_mode: str, fault_seed: int, state_path: Path | None,
          port_ks: int, port_lp: int, seed: str, courses: int, enrolments: int, debug: bool,
          config_file: Path | None) -> None:
    """Serve the sandbox sites in the foreground and print their URLs and tokens.

    Each site answers /webservice/rest/server.php and /login/token.php on 127.0.0.1, like a
    Moodle 4.5 site with the lmsbridge web service.
    """
    if config_file is not None and config_file.exists() and not _written_here(config_file):
        raise InputError(Message("sandbox.config_exists", path=config_file))
    spec = SeedSpec(base=seed, courses=courses, enrolments=enrolments)
    try:
        sandbox = Sandbox.start(latency=latency, fault_rate=fault_rate, state_path=state_path, seed=spec,
                                fault_mode=fault_mode, fault_seed=fault_seed, ports={"ks": port_ks, "lp": port_lp},
                                debug=debug)
    except OSError as exc:
        raise InputError(Message("sandbox.cannot_start", error=exc)) from exc
    with sandbox:
        click.echo(i18n.t("sandbox.running"))
        for name, site in sandbox.sites.items():
            click.echo(i18n.t("sandbox.site", name=name, sitename=site.state.settings.sitename, url=site.url,
                              token=site.token))
        if latency or fault_rate:
            click.echo(i18n.t("sandbox.options", latency=round(latency * 1000, 3), fault_rate=fault_rate,
                              fault_mode=fault_mode))
        if state_path is not None:
            click.echo(i18n.t("sandbox.state", path=state_path))
        if config_file is not None:
            write_sandbox_config(config_file, sandbox)
            click.echo(i18n.t("sandbox.config_written", path=config_file))
        with contextlib.suppress(KeyboardInterrupt):
            wait_until_interrupted()
    click.echo(i18n.t("sandbox.stopped"))


WRITTEN_BY = "lmsbridge sandbox serve"
#: The sandbox seed's (lmsbridge/sandbox/data/sites.json): where borrowed courses go, the completion report,
#: a course with certificate groups.
SHARE_CATEGORIES = {"ks": 2, "lp": 3}
CERTIFICATE_COURSE = ("HBHF-SMITTE-01", "lp")


def _written_here(path: Path) -> bool:
    """A configuration this command wrote before (its sites' addresses and tokens change each time)."""
    with contextlib.suppress(OSError, UnicodeDecodeError):
        return WRITTEN_BY in path.read_text(encoding="utf-8").split("\n", 1)[0]
    return False


def write_sandbox_config(path: Path, sandbox: Sandbox) -> Config:
    """A configuration for the sandbox's sites in ``path``: their tokens and a pseudonym secret in 0600 files
    beside it, the ledger (made, empty) and the outbox too; the receipt field added on each site."""
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    for name, site in sandbox.sites.items():
        add_receipt_field(site.state)
        write_secret_file(folder / f"{name}.token", site.token)
    write_secret_file(folder / "pseudonym.secret", secrets.token_hex(32))
    today = date.today()
    ks, lp = sandbox.sites["ks"], sandbox.sites["lp"]
    draft = ConfigDraft(
        platforms=(
            PlatformDraft("ks", "KS Læring", ks.url, PlatformRole.MUNICIPAL, "KS", ("file", "ks.token"), False,
                          contact_point="kslaring@ks.no", share_category_id=SHARE_CATEGORIES["ks"],
                          completion_report_id=1),
            PlatformDraft("lp", "Læringsportal Helse Bergen", lp.url, PlatformRole.HOSPITAL, "Helse Bergen HF",
                          ("file", "lp.token"), True, contact_point="elaring@helse-bergen.no",
                          share_category_id=SHARE_CATEGORIES["lp"], completion_report_id=1),
        ),
        organisation="Helse Bergen HF", today=today, pseudonym=("file", "pseudonym.secret"),
        login_file="personal-tokens.json", renewals=renewals_until(today),
        certificates=(CertificateDraft(*CERTIFICATE_COURSE, due=today),), written_by=WRITTEN_BY)
    config = write_config(path, draft)
    make_ledger(config)
    return config


commands = [sandbox_group]

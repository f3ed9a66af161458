"""Help texts, as message codes, for the commands whose modules still write theirs in English.

``cli.main`` gives them to ``command.adopt`` when it attaches those commands, so their help is in the user's
language too. When a module moves to ``command.command(help=N_(…), examples=…, exits=…)`` and ``help=N_(…)``
on its options, its entry here goes: the codes and their texts stay as they are.
"""

from __future__ import annotations

from typing import Any

from lmsbridge.errors import ExitCode
from lmsbridge.i18n import N_

_JSON = N_("help.global.json")
_COURSE = N_("help.certificates.course")
_TODAY = N_("help.certificates.today")

PENDING: dict[str, dict[str, Any]] = {
    "doctor": {
        "help": N_("help.doctor"),
        "platforms": N_("help.doctor.platform"),
        "as_json": _JSON,
        "examples": [("lmsbridge doctor", None), ("lmsbridge doctor --platform ks --json", None)],
        "exits": (ExitCode.FAILED, ExitCode.UNREACHABLE),
    },
    "sandbox": {
        "help": N_("help.sandbox"),
        "examples": [("lmsbridge sandbox serve", None)],
        "serve": {
            "help": N_("help.sandbox.serve"),
            "latency": N_("help.sandbox.serve.latency"),
            "fault_rate": N_("help.sandbox.serve.fault_rate"),
            "fault_mode": N_("help.sandbox.serve.fault_mode"),
            "fault_seed": N_("help.sandbox.serve.fault_seed"),
            "state_path": N_("help.sandbox.serve.state"),
            "port_ks": N_("help.sandbox.serve.port_ks"),
            "port_lp": N_("help.sandbox.serve.port_lp"),
            "seed": N_("help.sandbox.serve.seed"),
            "courses": N_("help.sandbox.serve.courses"),
            "enrolments": N_("help.sandbox.serve.enrolments"),
            "debug": N_("help.sandbox.serve.debug"),
            "config_file": N_("help.sandbox.serve.write_config"),
            "examples": [
                ("lmsbridge sandbox serve", N_("help.sandbox.example.free_ports")),
                ("lmsbridge sandbox serve --port-ks 8081 --port-lp 8082", N_("help.sandbox.example.fixed_ports")),
                ("lmsbridge sandbox serve --latency 25ms --fault-rate 0.1", N_("help.sandbox.example.faults")),
                ("lmsbridge sandbox serve --state sandbox.sqlite", N_("help.sandbox.example.state")),
                ("lmsbridge sandbox serve --courses 50 --enrolments 200", N_("help.sandbox.example.bulk")),
            ],
        },
    },
    "sync": {
        "help": N_("help.sync"),
        "examples": [("lmsbridge sync run", None), ("lmsbridge sync status", None)],
        "run": {
            "help": N_("help.sync.run"),
            "full": N_("help.sync.run.full"),
            "dry_run": N_("help.sync.run.dry_run"),
            "concurrency": N_("help.sync.run.concurrency"),
            "share_ids": N_("help.sync.run.share"),
            "every": N_("help.sync.run.every"),
            "no_certificates": N_("help.sync.run.no_certificates"),
            "no_report": N_("help.sync.run.no_report"),
            "quiet": N_("help.sync.run.quiet"),
            "rotate_secret": N_("help.sync.run.rotate_secret"),
            "old_secret_env": N_("help.sync.run.old_secret_env"),
            "old_secret_file": N_("help.sync.run.old_secret_file"),
            "max_user_id": N_("help.sync.run.max_user_id"),
            "as_json": _JSON,
            "examples": [
                ("lmsbridge sync run", N_("help.sync.example.run")),
                ("lmsbridge sync run --quiet", N_("help.sync.example.quiet")),
                ("lmsbridge sync run --full", N_("help.sync.example.full")),
                ("lmsbridge sync run --dry-run", N_("help.sync.example.dry_run")),
                ("lmsbridge sync run --every 15m", N_("help.sync.example.every")),
                ("lmsbridge sync run --concurrency 8 --json", None),
            ],
            "exits": (ExitCode.UNREACHABLE, ExitCode.PARTIAL, ExitCode.LOCKED),
        },
        "status": {
            "help": N_("help.sync.status"),
            "reveal_learners": N_("help.sync.status.reveal"),
            "as_json": _JSON,
            "examples": [("lmsbridge sync status", None), ("lmsbridge sync status --json", None),
                         ("lmsbridge sync status --excel > feilede.csv", N_("help.output.example.excel"))],
        },
        "check": {
            "help": N_("help.sync.check"),
            "share_ids": N_("help.sync.check.share"),
            "items": N_("help.sync.check.items"),
            "no_record": N_("help.sync.check.no_record"),
            "as_json": _JSON,
            "examples": [("lmsbridge sync check", N_("help.sync.example.check")),
                         ("lmsbridge sync check --json --no-record", None)],
            "exits": (ExitCode.FAILED, ExitCode.UNREACHABLE, ExitCode.PARTIAL),
        },
    },
    "config": {
        "help": N_("help.config"),
        "examples": [("lmsbridge config show", None),
                     ("lmsbridge --config /etc/lmsbridge/lmsbridge.toml config show --json", None)],
        "show": {
            "help": N_("help.config.show"),
            "as_json": _JSON,
            "examples": [("lmsbridge config show", None),
                         ("LMSBRIDGE_LEDGER=/tmp/test.db lmsbridge config show", N_("help.config.example.env")),
                         ("lmsbridge config show --json", None)],
        },
    },
    "init": {
        "help": N_("help.init"),
        "file": N_("help.init.file"),
        "side": N_("help.init.side"),
        "organisation": N_("help.init.organisation"),
        "partner": N_("help.init.partner"),
        "ks_url": N_("help.init.ks_url"),
        "lp_url": N_("help.init.lp_url"),
        "ks_token_env": N_("help.init.ks_token_env"),
        "lp_token_env": N_("help.init.lp_token_env"),
        "ledger": N_("help.init.ledger"),
        "outbox": N_("help.init.outbox"),
        "operator_name": N_("help.init.name"),
        "operator_email": N_("help.init.email"),
        "force": N_("help.init.force"),
        "ledger_only": N_("help.init.ledger_only"),
        "no_input": N_("help.init.no_input"),
        "examples": [
            ("lmsbridge init", N_("help.init.example.ask")),
            ('lmsbridge init --side hospital --organisation "Helse Bergen HF" '
             "--lp-url https://laringsportal.helse-bergen.no", None),
            ("lmsbridge init --ledger-only", N_("help.init.example.ledger_only")),
            ("lmsbridge sandbox serve --write-config sandbox/lmsbridge.toml", N_("help.init.example.sandbox")),
        ],
    },
    "certificates": {
        "help": N_("help.certificates"),
        "examples": [("lmsbridge certificates group", None), ("lmsbridge certificates list --csv > kursbevis.csv",
                                                               None)],
        "group": {
            "help": N_("help.certificates.group"),
            "courses": _COURSE,
            "today": _TODAY,
            "dry_run": N_("help.certificates.group.dry_run"),
            "as_json": _JSON,
            "examples": [
                ("lmsbridge certificates group", N_("help.certificates.example.group")),
                ("lmsbridge certificates group --course HBHF-SMITTE-01 --dry-run", None),
            ],
            "exits": (ExitCode.UNREACHABLE, ExitCode.PARTIAL),
        },
        "list": {
            "help": N_("help.certificates.list"),
            "courses": _COURSE,
            "today": _TODAY,
            "as_csv": N_("help.certificates.list.csv"),
            "as_json": _JSON,
            "fmt": N_("help.output"),
            "excel": N_("help.output.excel"),
            "examples": [("lmsbridge certificates list", None), ("lmsbridge certificates list --csv > kursbevis.csv",
                                                                 None),
                         ("lmsbridge certificates list --excel > kursbevis.csv", N_("help.output.example.excel"))],
            "exits": (ExitCode.UNREACHABLE, ExitCode.PARTIAL),
        },
        "notify": {
            "help": N_("help.certificates.notify"),
            "courses": _COURSE,
            "today": _TODAY,
            "dry_run": N_("help.certificates.notify.dry_run"),
            "quiet": N_("help.certificates.notify.quiet"),
            "as_json": _JSON,
            "examples": [("lmsbridge certificates notify --dry-run", N_("help.certificates.example.notify"))],
            "exits": (ExitCode.UNREACHABLE, ExitCode.PARTIAL, ExitCode.LOCKED),
        },
    },
}

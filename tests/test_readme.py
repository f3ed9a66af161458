"""The README's two commands stay true: CI runs the test command, the main job command exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def code_blocks() -> list[str]:
    return re.findall(r"```bash\n(.*?)```", README, flags=re.S)


def test_ci_runs_the_readme_test_command() -> None:
    blocks = code_blocks()
    assert any(block.strip() == "scripts/test" for block in blocks), "README names scripts/test as the test command"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "scripts/test" in ci
    assert "-eq 5" in ci, ".ci/run must treat pytest's exit 5 (no tests) as failure"


def test_main_job_command_is_a_real_lmsbridge_command() -> None:
    from click.testing import CliRunner

    from lmsbridge.cli.main import cli

    main_job = next(b.strip() for b in code_blocks() if b.strip().startswith("lmsbridge "))
    args = main_job.split()[1:]
    assert args[0] in cli.commands, f"README's main job uses an unknown command: {main_job}"
    result = CliRunner().invoke(cli, [args[0], "--help"])
    assert result.exit_code == 0

"""``python -m lmsbridge``."""

from __future__ import annotations

from lmsbridge.cli.main import main

main()

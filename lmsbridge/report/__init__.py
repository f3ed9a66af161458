"""The partners' quarterly report (``lmsbridge report``): figures from the ledger, a page to read and print.

* ``period``  — the quarter or dates the report covers (days in Europe/Oslo)
* ``figures`` — every figure the ledger and the configuration hold (``collect``), counts only
* ``live``    — the figures only the platforms hold, read at report time (``--live``)
* ``charts``  — matplotlib drawings as inline SVG (imported only when a page is drawn)
* ``render``  — the HTML page (Jinja2), JSON and CSV
* ``browser`` — headless Chromium over the DevTools protocol: screenshots and console errors of a page
"""

from __future__ import annotations

from lmsbridge.report.figures import Figures, collect
from lmsbridge.report.period import Period, day_of

__all__ = ["Figures", "Period", "collect", "day_of"]

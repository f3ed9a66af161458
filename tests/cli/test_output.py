"""``-o table|json|jsonl|csv`` and ``--excel`` on the listing commands, and ``share show`` for a person."""

from __future__ import annotations

import csv
import io
import json
import re

from lmsbridge.cli.output import csv_text
from tests.cli.test_exit_codes import APPROVED, REQUEST, World, world  # noqa: F401


def test_excel_csv_reads_back_as_norwegian_excel_reads_it() -> None:
    rows = [{"name": "Gjøril Ås", "points": 57.2, "done": True, "count": 3, "when": None},
            {"name": "Per; «sitat»", "points": 2.0, "done": False, "count": 0, "when": None}]
    text = csv_text(rows, ["name", "points", "done", "count", "when"], excel=True)
    data = text.encode("utf-8")
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    # read back the way Excel with a Norwegian locale does: «;» separates, «,» is the decimal mark
    read = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert read[0] == ["name", "points", "done", "count", "when"]
    assert read[1] == ["Gjøril Ås", "57,2", "ja", "3", ""]
    assert read[2] == ["Per; «sitat»", "2", "nei", "0", ""]
    assert float(read[1][1].replace(",", ".")) == 57.2


def test_plain_csv_is_for_programs() -> None:
    text = csv_text([{"a": 1.5, "b": False, "c": {"x": 1}}], ["a", "b", "c"])
    assert not text.startswith("\ufeff")
    assert list(csv.reader(io.StringIO(text))) == [["a", "b", "c"], ["1.5", "false", '{"x": 1}']]


def test_share_list_in_every_format(world: World) -> None:  # noqa: F811
    REQUEST(world)
    table = world.run(["share", "list"])
    assert table.exit_code == 0
    assert all(len(line) <= 80 for line in table.output.splitlines())
    assert table.output.startswith("S-0001  Forespurt  HF → KS Læring")
    as_json = json.loads(world.run(["share", "list", "-o", "json"]).stdout)
    assert [s["id"] for s in as_json] == ["S-0001"]
    lines = world.run(["share", "list", "-o", "jsonl"]).stdout.splitlines()
    assert [json.loads(line)["state"] for line in lines] == ["requested"]
    plain = list(csv.DictReader(io.StringIO(world.run(["share", "list", "-o", "csv"]).stdout)))
    assert plain[0]["id"] == "S-0001" and plain[0]["owner_course_shortname"] == "HBHF-SMITTE-01"
    excel = world.run(["share", "list", "--excel"]).stdout_bytes
    rows = list(csv.DictReader(io.StringIO(excel.decode("utf-8-sig")), delimiter=";"))
    assert excel.startswith(b"\xef\xbb\xbf") and rows[0]["state"] == "requested"


def test_share_show_speaks_the_users_language_with_oslo_times(world: World) -> None:  # noqa: F811
    for step in APPROVED:
        step(world)
    shown = world.run(["share", "show", "S-0001"])
    assert shown.exit_code == 0, shown.output
    assert shown.output.startswith("Deling S-0001: Godkjent\n")
    assert "HF → KS Læring" in shown.output and "Eier" in shown.output and "{" not in shown.output
    assert re.search(r"#1  \d\d\.\d\d\.\d{4}, \d\d:\d\d (CET|CEST)  .+: forespurt", shown.output), shown.output
    assert re.search(r"#2  .+: godkjent", shown.output)
    english = world.run(["share", "show", "S-0001", "--lang", "en"])
    assert english.output.startswith("Share S-0001: Approved\n") and "Owner" in english.output
    events = list(csv.DictReader(io.StringIO(world.run(["share", "show", "S-0001", "-o", "csv"]).stdout)))
    assert [e["action"] for e in events] == ["request", "approve"]


def test_a_refused_request_lists_the_messages_validate_shows(world: World) -> None:  # noqa: F811
    refused = world.run(["share", "request", "--flow", "hospital-to-ks", "--course", "HBHF-LEGEMID-02"])
    assert refused.exit_code == 1
    lines = refused.stderr.splitlines()
    assert lines[0].startswith("Feil: Kursinformasjonen oppfyller ikke kravene i avtalen (")
    assert len(lines) > 1 and all(line.startswith("  ") for line in lines[1:])
    assert "missing." not in refused.stderr  # messages, not codes
    as_json = json.loads(world.run(["share", "request", "--flow", "hospital-to-ks", "--course", "HBHF-LEGEMID-02",
                                    "--json"]).stdout)
    assert len(as_json["error"]["details"]) == len(lines) - 1

"""The message catalogues: every code the source uses has a text in nb and en, and every text has a code.

Codes are found the way translators' tools find them: ``pybabel extract`` (Babel's Python extractor) with the
keywords of ``lmsbridge.i18n.EXTRACT_KEYWORDS``. A code built at run time (``f"flow.{x}"``) is invisible to it,
so such codes sit in tables marked with ``N_`` — this test is what keeps them there.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

import lmsbridge
from lmsbridge import i18n
from lmsbridge.i18n import Message

PACKAGE = Path(lmsbridge.__file__).parent
#: The sandbox is a Moodle stand-in with no user-facing text of its own (babel.cfg says the same).
METHOD_MAP = [("sandbox/**.py", "ignore"), ("**.py", "python")]
PLACEHOLDER = re.compile(r"(?<!\{)\{([a-z_][a-z0-9_]*)")


def extracted_codes() -> dict[str, list[str]]:
    """Code → where it is used (file:line), from the package's source."""
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(PACKAGE), method_map=METHOD_MAP, keywords=i18n.EXTRACT_KEYWORDS
    ):
        code = message[0] if isinstance(message, tuple) else message
        if isinstance(code, str) and code:
            found.setdefault(code, []).append(f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def codes() -> dict[str, list[str]]:
    return extracted_codes()


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_code_in_the_source_has_a_text(codes: dict[str, list[str]], lang: str) -> None:
    texts = i18n.catalogue(lang)
    missing = sorted(f"{code} ({', '.join(places[:2])})" for code, places in codes.items() if code not in texts)
    assert not missing, f"codes without a text in {lang}.po:\n  " + "\n  ".join(missing)


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_text_in_the_catalogue_is_used(codes: dict[str, list[str]], lang: str) -> None:
    unused = sorted(set(i18n.catalogue(lang)) - set(codes))
    assert not unused, f"texts in {lang}.po that no code in the source uses (remove them or mark with N_):\n  " + \
        "\n  ".join(unused)


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_the_compiled_catalogue_is_the_po_file_compiled(lang: str) -> None:
    with i18n.catalogue_path(lang, ".po").open("rb") as handle:
        source = read_po(handle, locale=lang)
    compiled = io.BytesIO()
    write_mo(compiled, source)
    assert i18n.catalogue_path(lang).read_bytes() == compiled.getvalue(), (
        f"{lang}.mo is stale: run scripts/messages compile")
    assert {m.id for m in source if m.id} == set(i18n.catalogue(lang))


def test_both_languages_name_the_same_values() -> None:
    nb, en = i18n.catalogue("nb"), i18n.catalogue("en")
    differ = sorted(code for code in nb if set(PLACEHOLDER.findall(nb[code])) != set(PLACEHOLDER.findall(en.get(code, ""))))
    assert not differ, f"nb and en texts that name different values: {differ}"


def test_the_extractor_sees_what_it_should(tmp_path: Path) -> None:
    """The scan itself: calls and marked table entries are found; a text kept as it is, and a code built at
    run time, are not (so a test of the catalogue would fail for them)."""
    (tmp_path / "m.py").write_text(
        'raise ConfigError(Message("a.code", n=1))\n'
        'x = i18n.t("b.code", lang)\n'
        'TABLE = {1: N_("c.code")}\n'
        'v = verdict(True, "d.code", x=1)\n'
        'y = Message.text("not a code")\n'
        'z = Message(f"dyn.{x}")\n',
        encoding="utf-8",
    )
    found = [m[2] if isinstance(m[2], str) else next(c for c in m[2] if c)
             for m in extract_from_dir(str(tmp_path), method_map=[("**.py", "python")], keywords=i18n.EXTRACT_KEYWORDS)
             if m[2] and (isinstance(m[2], str) or any(m[2]))]
    assert found == ["a.code", "b.code", "c.code", "d.code"]


def test_a_message_renders_in_either_language_and_survives_storage() -> None:
    message = Message("moodle.error", where="ks: ", message=Message.text("Ugyldig"), code="invalidrecord")
    assert message.render("nb") != message.render("en")
    assert "Ugyldig" in message.render("en")
    assert Message.from_stored(message.stored()) == message
    assert Message.from_stored("an older row, as text").render("en") == "an older row, as text"

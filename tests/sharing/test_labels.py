"""Labels in the course summary and the label select field (agreement, seed 002: «Kurset merkes «delt til
KS Læring»» / «Kurset merkes med «delt fra KS»»). The author's HTML must come back untouched."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmsbridge.domain import Label
from lmsbridge.errors import ConfigError
from lmsbridge.sharing.labels import (
    LabelProblem,
    apply_label,
    audit_label,
    label_field_value,
    label_from_field,
    label_html,
    labels_in,
    remove_labels,
)

TO_KS = Label.SHARED_TO_KS
FROM_KS = Label.SHARED_FROM_KS
TO_KS_LINE = '<p class="lmsbridge-label" data-lmsbridge-label="delt-til-ks-laring">Delt til KS Læring</p>'
FROM_KS_LINE = '<p class="lmsbridge-label" data-lmsbridge-label="delt-fra-ks">Delt fra KS</p>'

#: An author's summary with everything a re-serialiser would change: entities, a comment, nested lists,
#: <br> spellings, non-ASCII, single/unquoted/boolean attributes, upper-case tags, odd whitespace.
AUTHOR = (
    "<p>Kurs i smittevern &amp; hygiene for ansatte i Helse Bergen &ndash; &#229;rlig, &aring;pent&nbsp;for alle."
    "<br>Linje to<br/>linje tre<BR ></p>\n"
    '<!-- intern merknad: <p class="x">ikke vis</p> -->\n'
    "<ul class='mål'><li>Håndhygiene<ul><li>Før og etter pasientkontakt</li></ul></li>"
    "<li data-x=1 hidden>Smittevernutstyr</li></ul>\n"
    "<P ALIGN=center>Ærlig talt: «æøå» &lt;ikke en tagg&gt;</P>   \n"
)


def test_the_label_line_is_the_agreements_words_marked_for_lmsbridge() -> None:
    assert label_html(TO_KS) == TO_KS_LINE
    assert label_html(FROM_KS) == FROM_KS_LINE


APPLY = [
    # summary before, label, summary after
    ("", TO_KS, TO_KS_LINE),
    ("<p>Kurs i brannvern.</p>", TO_KS, TO_KS_LINE + "<p>Kurs i brannvern.</p>"),
    ("Ren tekst uten tagger", FROM_KS, FROM_KS_LINE + "Ren tekst uten tagger"),
    (AUTHOR, FROM_KS, FROM_KS_LINE + AUTHOR),
    # already labelled: unchanged
    (TO_KS_LINE + "<p>Kurs.</p>", TO_KS, TO_KS_LINE + "<p>Kurs.</p>"),
    # the other label is replaced
    (TO_KS_LINE + "<p>Kurs.</p>", FROM_KS, FROM_KS_LINE + "<p>Kurs.</p>"),
    # a label that is not first is moved first
    ("<p>Kurs.</p>" + TO_KS_LINE, TO_KS, TO_KS_LINE + "<p>Kurs.</p>"),
    # two labels become one
    (TO_KS_LINE + FROM_KS_LINE + "<p>Kurs.</p>", TO_KS, TO_KS_LINE + "<p>Kurs.</p>"),
    # the recorded KS summary says it in prose (fixture ks__core_course_get_courses_by_field__ok_after_create):
    # that is the author's text, not a label, and it stays
    (
        "<p>Delt til KS Læring fra Helse Bergen HF.</p>",
        TO_KS,
        TO_KS_LINE + "<p>Delt til KS Læring fra Helse Bergen HF.</p>",
    ),
]


@pytest.mark.parametrize(("before", "label", "after"), APPLY)
def test_apply_label(before: str, label: Label, after: str) -> None:
    assert apply_label(before, label) == after
    assert apply_label(after, label) == after
    assert labels_in(after) == {label}


REMOVE = [
    ("", ""),
    (AUTHOR, AUTHOR),
    (TO_KS_LINE + AUTHOR, AUTHOR),
    (FROM_KS_LINE + AUTHOR, AUTHOR),
    ("<p>a</p>" + TO_KS_LINE + "<p>b</p>" + FROM_KS_LINE, "<p>a</p><p>b</p>"),
    ("<div>" + TO_KS_LINE + "<p>inni</p></div>", "<div><p>inni</p></div>"),
    # edited by hand or by the editor: attributes reordered, other quoting, data attribute stripped
    ("<p data-lmsbridge-label='delt-fra-ks' class=\"lmsbridge-label\">Delt fra KS</p><p>x</p>", "<p>x</p>"),
    ('<p class="lmsbridge-label">Delt til KS Læring</p><p>x</p>', "<p>x</p>"),
    ('<P CLASS="intro lmsbridge-label">Delt <strong>til</strong> KS Læring</P><p>x</p>', "<p>x</p>"),
    # a label paragraph missing its </p> ends where the next block starts (HTML's implied end tag)
    ('<p class="lmsbridge-label">Delt fra KS<div>x</div>', "<div>x</div>"),
    ('<div><p class="lmsbridge-label">Delt fra KS</div><p>y</p>', "<div></div><p>y</p>"),
    # look-alikes are left alone
    ('<p class="lmsbridge-labels">Delt fra KS</p>', '<p class="lmsbridge-labels">Delt fra KS</p>'),
    ("<!-- " + TO_KS_LINE + " -->", "<!-- " + TO_KS_LINE + " -->"),
    ("<p>lmsbridge-label er et ord</p>", "<p>lmsbridge-label er et ord</p>"),
    ("<textarea>" + TO_KS_LINE + "</textarea>" + FROM_KS_LINE, "<textarea>" + TO_KS_LINE + "</textarea>"),
    ("<title>" + TO_KS_LINE + "</title>", "<title>" + TO_KS_LINE + "</title>"),
    ("<script>var s = '" + TO_KS_LINE + "';</script>", "<script>var s = '" + TO_KS_LINE + "';</script>"),
]


@pytest.mark.parametrize(("before", "after"), REMOVE)
def test_remove_labels(before: str, after: str) -> None:
    assert remove_labels(before) == after
    assert labels_in(after) == set()


def test_removing_from_a_summary_without_labels_returns_the_same_text() -> None:
    assert remove_labels(AUTHOR) is AUTHOR


LABELS_IN = [
    ("", set()),
    (AUTHOR, set()),
    (TO_KS_LINE, {TO_KS}),
    (TO_KS_LINE + FROM_KS_LINE, {TO_KS, FROM_KS}),
    ('<p class="lmsbridge-label">  delt fra   ks </p>', {FROM_KS}),  # data attribute lost, text decides
    ('<p class="lmsbridge-label">Noe annet</p>', set()),  # marked but not a label we know
    ("<p>Delt fra KS</p>", set()),  # unmarked prose
    ("<!-- " + FROM_KS_LINE + " -->", set()),
]


@pytest.mark.parametrize(("summary", "expected"), LABELS_IN)
def test_labels_in(summary: str, expected: set[Label]) -> None:
    assert labels_in(summary) == expected


def test_markup_the_parsers_read_differently_still_loses_its_label() -> None:
    # «<!--->» is an empty comment to lxml (as to browsers) but opens one for Python's tokenizer: the label
    # after it is visible, so it must go; lxml's serialisation is the fallback here.
    summary = "<!--->" + TO_KS_LINE + "<p>x</p>"
    assert labels_in(summary) == {TO_KS}
    removed = remove_labels(summary)
    assert labels_in(removed) == set()
    assert removed.endswith("<p>x</p>")
    assert apply_label(summary, FROM_KS).startswith(FROM_KS_LINE)


def test_an_unknown_marked_line_is_still_removed_and_replaced() -> None:
    summary = '<p class="lmsbridge-label">Noe annet</p><p>x</p>'
    assert remove_labels(summary) == "<p>x</p>"
    assert apply_label(summary, TO_KS) == TO_KS_LINE + "<p>x</p>"


def test_a_hand_edited_label_line_that_still_says_the_right_thing_is_left_alone() -> None:
    edited = "<p data-lmsbridge-label=delt-til-ks-laring class=lmsbridge-label>delt til KS Læring</p>\n<p>x</p>"
    assert apply_label(edited, TO_KS) == edited


# --- exact preservation of any author HTML (property-based) ----------------------------------------

_TEXT = st.text(alphabet="abcæøåÆØÅ xyz.,:;!?«»–\n\t0123456789'\"=/", min_size=1, max_size=12)
_ENTITY = st.sampled_from(["&amp;", "&lt;", "&gt;", "&nbsp;", "&aring;", "&#229;", "&#xE6;", "&quot;", " < ", "R&D"])
_COMMENT = st.builds(lambda t: f"<!--{t}-->", st.text(alphabet="abc æøå<p>/='\"", max_size=12)).filter(
    lambda c: "--" not in c[4:-3] and not c[4:-3].endswith("-")
)
_VOID = st.sampled_from(["<br>", "<br/>", "<br />", "<BR>", '<img src="a.png" alt="æ">', "<hr>"])
_ATTRS = st.sampled_from(["", ' class="x"', " class='mål y'", " id=a1", ' data-k="v&amp;w"', " hidden", ' title="«»"'])


def _element(tag: str, attrs: str, inner: str) -> str:
    return f"<{tag}{attrs}>{inner}</{tag}>"


_INLINE = st.recursive(
    st.one_of(_TEXT, _ENTITY, _COMMENT, _VOID),
    lambda children: st.builds(
        _element,
        st.sampled_from(["strong", "em", "span", "a", "b"]),
        _ATTRS,
        st.lists(children, max_size=3).map("".join),
    ),
    max_leaves=8,
)
_INLINES = st.lists(_INLINE, max_size=4).map("".join)
_LIST_ITEM = st.builds(_element, st.just("li"), _ATTRS, _INLINES)
_LIST = st.builds(
    _element, st.sampled_from(["ul", "ol"]), _ATTRS, st.lists(_LIST_ITEM, min_size=1, max_size=3).map("".join)
)
_NESTED_LIST = st.builds(
    _element,
    st.sampled_from(["ul", "ol"]),
    _ATTRS,
    st.builds(lambda a, inner: f"<li{a}>x{inner}</li>", _ATTRS, _LIST),
)
_BLOCK = st.one_of(
    st.builds(_element, st.sampled_from(["p", "P", "h3", "blockquote"]), _ATTRS, _INLINES),
    st.builds(_element, st.just("div"), _ATTRS, st.lists(st.one_of(_INLINE, _LIST), max_size=3).map("".join)),
    _LIST,
    _NESTED_LIST,
    _COMMENT,
    _TEXT,
    st.sampled_from(["\n", "  ", "\r\n"]),
)
AUTHOR_HTML = st.lists(_BLOCK, max_size=6).map("".join)
LABEL = st.sampled_from(list(Label))


@settings(deadline=None)
@given(AUTHOR_HTML, LABEL)
def test_apply_then_remove_gives_back_the_authors_html_exactly(summary: str, label: Label) -> None:
    labelled = apply_label(summary, label)
    assert labelled == label_html(label) + summary
    assert labels_in(labelled) == {label}
    assert remove_labels(labelled) == summary
    assert remove_labels(summary) == summary


@settings(deadline=None)
@given(AUTHOR_HTML, LABEL, LABEL)
def test_applying_is_idempotent_and_replaces(summary: str, first: Label, second: Label) -> None:
    once = apply_label(summary, first)
    assert apply_label(once, first) == once
    assert apply_label(once, second) == apply_label(summary, second)


@settings(deadline=None)
@given(st.lists(_BLOCK, max_size=4), st.lists(_BLOCK, max_size=4), LABEL, st.booleans())
def test_a_label_anywhere_is_cut_out_without_touching_its_neighbours(
    before: list[str], after: list[str], label: Label, wrapped: bool
) -> None:
    head, tail = "".join(before), "".join(after)
    if wrapped:  # a label that an editor moved inside the author's <div>
        head, tail = "<div>" + head, tail + "</div>"
    summary = head + label_html(label) + tail
    assert labels_in(summary) == {label}
    assert remove_labels(summary) == head + tail


# --- the label select field ----------------------------------------------------------------------

PROFILE_OPTIONS = ["", "delt til KS Læring", "delt fra KS"]  # as the profile lists them: index 0 = unset
MOODLE_OPTIONS = ["delt til KS Læring", "delt fra KS"]  # as Moodle's field configuration lists them

FIELD = [
    (None, PROFILE_OPTIONS, 0),
    (TO_KS, PROFILE_OPTIONS, 1),
    (FROM_KS, PROFILE_OPTIONS, 2),
    (None, MOODLE_OPTIONS, 0),
    (TO_KS, MOODLE_OPTIONS, 1),
    (FROM_KS, MOODLE_OPTIONS, 2),
    (FROM_KS, ["", "Ikke delt", "Delt fra KS", "Delt til KS Læring"], 2),  # capitalised, other order
]


@pytest.mark.parametrize(("label", "options", "value"), FIELD)
def test_label_field_value(label: Label | None, options: list[str], value: int) -> None:
    assert label_field_value(label, options) == value
    assert label_from_field(value, options) == label


def test_a_field_without_the_option_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="delt fra KS"):
        label_field_value(FROM_KS, ["", "delt til KS Læring"])


FROM_FIELD = [
    (0, PROFILE_OPTIONS, None),
    (None, PROFILE_OPTIONS, None),
    (3, PROFILE_OPTIONS, None),  # out of range
    (-1, PROFILE_OPTIONS, None),
    (1, ["", "Ikke delt", "delt fra KS"], None),  # an option that is not a label
    (2, ["", "Ikke delt", "delt fra KS"], FROM_KS),
]


@pytest.mark.parametrize(("index", "options", "label"), FROM_FIELD)
def test_label_from_field(index: int | None, options: list[str], label: Label | None) -> None:
    assert label_from_field(index, options) == label


# --- audit: the ledger says what the labels should be -------------------------------------------------

AUDIT = [
    # expected (active share's label), field, summary, problem codes
    (TO_KS, TO_KS, {TO_KS}, []),
    (None, None, set(), []),
    (TO_KS, None, {TO_KS}, ["missing"]),
    (TO_KS, TO_KS, set(), ["summary_missing"]),
    (TO_KS, None, set(), ["missing", "summary_missing"]),
    (TO_KS, FROM_KS, {FROM_KS}, ["wrong", "summary_wrong"]),
    (TO_KS, TO_KS, {TO_KS, FROM_KS}, ["summary_wrong"]),
    (None, TO_KS, set(), ["stale"]),
    (None, None, {FROM_KS}, ["summary_stale"]),
    (None, FROM_KS, {FROM_KS, TO_KS}, ["stale", "summary_stale"]),
]


@pytest.mark.parametrize(("expected", "field", "summary", "codes"), AUDIT)
def test_audit_label(expected: Label | None, field: Label | None, summary: set[Label], codes: list[str]) -> None:
    problems = audit_label(expected, field, summary)
    assert [p.code for p in problems] == codes
    for problem in problems:
        assert isinstance(problem, LabelProblem)
        assert problem.fix == ("apply" if expected else "remove")
        assert problem.place == ("summary" if problem.code.startswith("summary") else "field")
        assert problem.reason


def test_audit_reasons_read_like_the_ledger_talks() -> None:
    [stale] = audit_label(None, TO_KS, set())
    assert stale.reason.render("nb") == "Merkefeltet sier «delt til KS Læring», men kurset har ingen aktiv deling"
    [wrong] = audit_label(TO_KS, None, {FROM_KS})[1:]
    assert wrong.found == (FROM_KS,)
    assert wrong.reason.render("nb") == "Kurssammendraget har «delt fra KS», men delingen krever bare «delt til KS Læring»"


def test_audit_then_fix_leaves_nothing_to_report() -> None:
    summary = FROM_KS_LINE + AUTHOR
    problems = audit_label(TO_KS, FROM_KS, labels_in(summary))
    assert {p.fix for p in problems} == {"apply"}
    fixed = apply_label(summary, TO_KS)
    assert (
        audit_label(
            TO_KS, label_from_field(label_field_value(TO_KS, PROFILE_OPTIONS), PROFILE_OPTIONS), labels_in(fixed)
        )
        == []
    )
    assert fixed == TO_KS_LINE + AUTHOR

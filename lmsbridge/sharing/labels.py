"""The share label, as a visible line in the course summary and as the value of the label select field.

The agreement (seed 002): a hospital course put into KS Læring «merkes «delt til KS Læring»», a KS course
that a hospital shares «merkes med «delt fra KS»». lmsbridge puts the label first in the summary as one
marked paragraph::

    <p class="lmsbridge-label" data-lmsbridge-label="delt-til-ks-laring">Delt til KS Læring</p>

and finds it again by its marker (the class or the data attribute), never by guessing from text.

The author's HTML is never re-serialised: lxml (fragment parsing) decides which elements are labels, the
standard library's HTML tokenizer locates them in the original text, and the label is spliced in or
out. Everything else comes back byte for byte: entities, comments, attribute quoting, ``<br>`` spelling,
whitespace. Only if the two parsers disagree about a pathological summary does removal fall back to
lxml's serialisation (still removing exactly the labels).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Literal

import lxml.html
from lxml import etree

from lmsbridge.domain import Label
from lmsbridge.errors import ConfigError
from lmsbridge.i18n import N_, Message

LABEL_CLASS = "lmsbridge-label"
LABEL_ATTRIBUTE = "data-lmsbridge-label"

#: Stable, ASCII marker values: the visible text may be edited by hand, the marker tells what it is.
SLUGS: dict[Label, str] = {
    Label.SHARED_TO_KS: "delt-til-ks-laring",
    Label.SHARED_FROM_KS: "delt-fra-ks",
}
_BY_SLUG: dict[str, Label] = {slug: label for label, slug in SLUGS.items()}

#: The visible line: the agreement's words, capitalised because the line opens the summary.
VISIBLE_TEXT: dict[Label, str] = {
    Label.SHARED_TO_KS: "Delt til KS Læring",
    Label.SHARED_FROM_KS: "Delt fra KS",
}


def label_html(label: Label) -> str:
    """The exact paragraph ``apply_label`` inserts for ``label``."""
    label = Label(label)
    return f'<p class="{LABEL_CLASS}" {LABEL_ATTRIBUTE}="{SLUGS[label]}">{html.escape(VISIBLE_TEXT[label])}</p>'


def _words(text: str) -> str:
    return " ".join(text.split()).casefold()


def _label_from_marker(slug: str | None, text: str) -> Label | None:
    """A marked element's label: by its data attribute, else (an editor dropped data-*) by its text."""
    if slug and slug.strip() in _BY_SLUG:
        return _BY_SLUG[slug.strip()]
    said = _words(text)
    for label in Label:
        if said in (_words(VISIBLE_TEXT[label]), _words(label.value)):
            return label
    return None


# --- locating labels in the original text ----------------------------------------------------------

#: Start tags that end an open <p> (HTML's implied end tags), so a label paragraph missing </p> ends there.
_CLOSES_P = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "details",
        "div",
        "dl",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hgroup",
        "hr",
        "main",
        "menu",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "ul",
    ]
)
#: Elements whose content is text, not markup, for lxml (libxml2) as for browsers (html.parser knows only
#: <script> and <style>).
_TEXT_CONTENT = frozenset({"textarea", "title", "xmp", "iframe", "noembed", "noframes"})
_VOID = frozenset(
    ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"]
)


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    label: Label | None
    text: str


def _is_marker(attrs: Sequence[tuple[str, str | None]]) -> tuple[bool, str | None]:
    marked, slug = False, None
    for name, value in attrs:
        if name == LABEL_ATTRIBUTE:
            marked, slug = True, value
        elif name == "class" and LABEL_CLASS in (value or "").split():
            marked = True
    return marked, slug


class _LabelLocator(HTMLParser):
    """Finds the character spans of marked label elements in the text it is fed."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.line_starts = [0]
        self.line_starts.extend(i + 1 for i, char in enumerate(source) if char == "\n")
        self.spans: list[_Span] = []
        self._open: tuple[int, str, str | None] | None = None  # start, tag, slug of the label being read
        self._inner: list[str] = []
        self._text: list[str] = []

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    def _close(self, end: int) -> None:
        assert self._open is not None
        start, _, slug = self._open
        text = "".join(self._text)
        self.spans.append(_Span(start, end, _label_from_marker(slug, text), text))
        self._open, self._inner, self._text = None, [], []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        here = self._offset()
        if tag in _TEXT_CONTENT:
            self.set_cdata_mode(tag)
        if self._open is not None:
            if self._open[1] == "p" and tag in _CLOSES_P:
                self._close(here)  # <p>…<div> closes the paragraph before the <div>
            else:
                if tag not in _VOID:
                    self._inner.append(tag)
                return
        marked, slug = _is_marker(attrs)
        if marked:
            self._open = (here, tag, slug)
            if tag in _VOID:
                self._close(here + len(self.get_starttag_text() or ""))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        here = self._offset()
        if self._open is not None:
            if self._open[1] == "p" and tag in _CLOSES_P:
                self._close(here)
            else:
                return
        marked, slug = _is_marker(attrs)
        if marked:
            self._open = (here, tag, slug)
            self._close(here + len(self.get_starttag_text() or ""))

    def handle_endtag(self, tag: str) -> None:
        if self._open is None:
            return
        here = self._offset()
        if tag in self._inner:
            while self._inner and self._inner.pop() != tag:
                pass
            return
        if tag == self._open[1]:
            close = self.source.find(">", here)
            self._close(len(self.source) if close < 0 else close + 1)
        else:
            self._close(here)  # a parent ends (e.g. </div>): the label ended just before it

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def finish(self) -> list[_Span]:
        self.close()
        if self._open is not None:
            self._close(len(self.source))
        return self.spans


def _fragment(summary_html: str) -> lxml.html.HtmlElement | None:
    """The summary parsed by lxml under one wrapper <div>; None when lxml cannot read it at all."""
    try:
        return lxml.html.fragment_fromstring(summary_html, create_parent="div")
    except (etree.ParserError, ValueError):
        return None


_MARKER_XPATH = etree.XPath(
    f"//*[@{LABEL_ATTRIBUTE} or contains(concat(' ', normalize-space(@class), ' '), ' {LABEL_CLASS} ')]"
)


def _marked_elements(root: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    """Marked elements in document order; a marker nested in another label is part of that label."""
    found = _MARKER_XPATH(root)
    assert isinstance(found, list)
    elements = [element for element in found if isinstance(element, lxml.html.HtmlElement)]
    return [e for e in elements if not any(a in elements for a in e.iterancestors())]


def _element_label(element: lxml.html.HtmlElement) -> Label | None:
    return _label_from_marker(element.get(LABEL_ATTRIBUTE), element.text_content())


def _might_have_labels(summary_html: str) -> bool:
    return LABEL_CLASS in summary_html  # also a substring of LABEL_ATTRIBUTE


def _spans(summary_html: str) -> list[_Span] | None:
    """The labels' spans in document order, or None when the tokenizer and lxml disagree on them.

    lxml decides whether there are labels at all: text that merely looks like one (inside a comment, a
    <textarea>, a <script>) is not, and then the summary is not touched."""
    if not _might_have_labels(summary_html):
        return []
    root = _fragment(summary_html)
    elements = _marked_elements(root) if root is not None else None
    if elements == []:
        return []
    located = _LabelLocator(summary_html)
    located.feed(summary_html)
    spans = located.finish()
    if elements is None:
        return spans
    if len(elements) != len(spans):
        return None
    if any(span.label is not _element_label(e) for span, e in zip(spans, elements, strict=True)):
        return None
    return spans


# --- the summary line ----------------------------------------------------------------------------


def labels_in(summary_html: str) -> set[Label]:
    """The labels marked in a summary (unmarked text that merely says «delt til KS Læring» is not one)."""
    if not _might_have_labels(summary_html):
        return set()
    root = _fragment(summary_html)
    if root is None:
        spans = _spans(summary_html) or []
        return {span.label for span in spans if span.label is not None}
    return {label for label in map(_element_label, _marked_elements(root)) if label is not None}


def remove_labels(summary_html: str) -> str:
    """The summary without any label line; a summary without one comes back unchanged, byte for byte."""
    spans = _spans(summary_html)
    if spans is None:
        return _remove_with_lxml(summary_html)
    if not spans:
        return summary_html
    pieces: list[str] = []
    position = 0
    for span in spans:
        pieces.append(summary_html[position : span.start])
        position = span.end
    pieces.append(summary_html[position:])
    return "".join(pieces)


def _remove_with_lxml(summary_html: str) -> str:
    """Fallback for markup the two parsers read differently: lxml removes and re-serialises."""
    root = _fragment(summary_html)
    assert root is not None  # only reached when lxml read the summary
    for element in _marked_elements(root):
        if element.getparent() is not None:
            element.drop_tree()  # keeps the element's tail text
    children = "".join(lxml.html.tostring(child, encoding="unicode") for child in root)
    return (root.text or "") + children


def apply_label(summary_html: str, label: Label) -> str:
    """The summary with ``label`` as its first line and no other label. Idempotent: a summary that already
    opens with this label (by marker and visible text) comes back unchanged."""
    label = Label(label)
    spans = _spans(summary_html)
    if spans is not None and len(spans) == 1:
        only = spans[0]
        first = not summary_html[: only.start].strip()
        if first and only.label is label and _words(only.text) in (_words(VISIBLE_TEXT[label]), _words(label)):
            return summary_html
    return label_html(label) + remove_labels(summary_html)


# --- the label select field ----------------------------------------------------------------------


def _option_offset(options: Sequence[str]) -> int:
    """Moodle stores a select field as the 1-based option index (0 = unset). Profiles list the options with
    the empty "not set" option first (so list index = stored value); a bare Moodle option list has not."""
    return 0 if options and options[0] == "" else 1


def label_field_value(label: Label | None, options: Sequence[str]) -> int:
    """The value to store in the label select field for ``label`` (0 = no label). Raises ``ConfigError``
    when the field has no such option: writing 0 instead would silently clear the label."""
    if label is None:
        return 0
    label = Label(label)
    offset = _option_offset(options)
    for index, option in enumerate(options):
        if option and _words(option) in (_words(label.value), _words(VISIBLE_TEXT[label])):
            return index + offset
    shown = ", ".join(f"«{o}»" for o in options if o)
    raise ConfigError(Message("label.option_missing", label=label.value, options=shown or "-"))


def label_from_field(index: int | None, options: Sequence[str]) -> Label | None:
    """The label a stored select value stands for; None for 0, out-of-range, or a non-label option."""
    if not index or index < 0:
        return None
    position = index - _option_offset(options)
    if not 0 <= position < len(options):
        return None
    text = _words(options[position])
    for label in Label:
        if text and text in (_words(label.value), _words(VISIBLE_TEXT[label])):
            return label
    return None


# --- audit ---------------------------------------------------------------------------------------

ProblemCode = Literal["missing", "wrong", "stale", "summary_missing", "summary_wrong", "summary_stale"]


@dataclass(frozen=True)
class LabelProblem:
    """One way a course's labels disagree with the ledger. ``fix`` says what repairs it."""

    code: ProblemCode
    place: Literal["field", "summary"]
    expected: Label | None
    found: tuple[Label, ...]
    reason: Message

    @property
    def fix(self) -> Literal["apply", "remove"]:
        """``apply_label(expected)`` when a share is active, else ``remove_labels``."""
        return "apply" if self.expected is not None else "remove"

_AUDIT_REASONS: dict[str, str] = {
    "missing": N_("label.audit.missing"),
    "wrong": N_("label.audit.wrong"),
    "stale": N_("label.audit.stale"),
    "summary_missing": N_("label.audit.summary_missing"),
    "summary_wrong": N_("label.audit.summary_wrong"),
    "summary_stale": N_("label.audit.summary_stale"),
}


def _problem(
    code: ProblemCode, place: Literal["field", "summary"], expected: Label | None, found: tuple[Label, ...]
) -> LabelProblem:
    shown = ", ".join(label.value for label in found)
    reason = Message(_AUDIT_REASONS[code], expected=expected.value if expected else "", found=shown)
    return LabelProblem(code=code, place=place, expected=expected, found=found, reason=reason)


def audit_label(
    expected: Label | None, field_label: Label | None, summary_labels: set[Label] | frozenset[Label]
) -> list[LabelProblem]:
    """Compare what the ledger says (``expected``: the active share's label, or None when no share is
    active) with the select field and the summary. Empty list = the labels have not drifted.

    Codes: ``missing``/``wrong``/``stale`` for the field, ``summary_missing``/``summary_wrong``/
    ``summary_stale`` for the summary line ("stale": a label shown though no share is active)."""
    problems: list[LabelProblem] = []
    if expected is None:
        if field_label is not None:
            problems.append(_problem("stale", "field", None, (field_label,)))
    elif field_label is None:
        problems.append(_problem("missing", "field", expected, ()))
    elif field_label is not expected:
        problems.append(_problem("wrong", "field", expected, (field_label,)))

    in_summary = tuple(sorted(summary_labels, key=lambda label: label.value))
    if expected is None:
        if in_summary:
            problems.append(_problem("summary_stale", "summary", None, in_summary))
    elif any(label is not expected for label in in_summary):
        problems.append(_problem("summary_wrong", "summary", expected, in_summary))
    elif expected not in summary_labels:
        problems.append(_problem("summary_missing", "summary", expected, ()))
    return problems

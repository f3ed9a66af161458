"""Certificate grouping rules, table-driven (DESIGN.md «Completion and certificates», seed 000)."""

from __future__ import annotations

from datetime import date

import pytest

from lmsbridge.certificates.rules import (
    GROUP_NAMES,
    CertificateGroup,
    Move,
    activity_points_for,
    moves,
    place,
    points,
)

DUE = date(2026, 12, 31)
C, P, I = CertificateGroup.COMPLETE, CertificateGroup.PARTIAL, CertificateGroup.INACTIVE  # noqa: E741 - table shorthand


def test_group_names_are_exact() -> None:
    assert GROUP_NAMES == ("Fullført 100%", "Fullført, ikke 100%", "Inaktiv")


@pytest.mark.parametrize(
    ("done", "required", "today", "grace", "expected"),
    [
        (2, 2, date(2026, 12, 1), 30, None),  # before the due date nobody is grouped
        (2, 2, DUE, 30, None),  # the due date itself still counts as before
        (0, 2, DUE, 0, None),
        (2, 2, date(2027, 1, 1), 30, C),
        (3, 2, date(2027, 1, 1), 30, C),
        (1, 2, date(2027, 1, 1), 30, P),
        (0, 2, date(2027, 1, 1), 30, None),  # nothing done, still within grace
        (0, 2, date(2027, 1, 30), 30, None),  # last day of grace
        (0, 2, date(2027, 1, 31), 30, I),  # grace over
        (0, 2, date(2027, 1, 1), 0, I),
        (0, 0, date(2027, 6, 1), 30, None),  # no required activities: cannot tell
    ],
)
def test_place(done: int, required: int, today: date, grace: int, expected: CertificateGroup | None) -> None:
    placement = place(required=required, done=done, due=DUE, grace_days=grace, today=today)
    assert placement.group == expected
    assert placement.reason


def test_moves_are_idempotent() -> None:
    current = {1: {"Inaktiv"}, 2: {"Fullført 100%"}, 3: set(), 4: {"Inaktiv", "Fullført, ikke 100%"}, 5: {"Inaktiv"}}
    wanted = {1: "Fullført, ikke 100%", 2: "Fullført 100%", 3: "Inaktiv", 4: "Inaktiv", 5: None}
    assert moves(current, wanted) == [
        Move(1, ("Inaktiv",), "Fullført, ikke 100%"),
        Move(3, (), "Inaktiv"),
        Move(4, ("Fullført, ikke 100%",), None),
        Move(5, ("Inaktiv",), None),
    ]
    after = {u: ({g} if g else set()) for u, g in wanted.items()}
    assert moves(after, wanted) == []


@pytest.mark.parametrize(
    ("group", "course", "done", "all_", "expected"),
    [
        (C, 2.0, [1.0], [1.0, 1.0], (2.0, 2.0, False)),
        (C, 0.0, [], [1.0, 0.5], (1.5, 1.5, False)),
        (P, 2.0, [1.0], [1.0, 1.0], (1.0, 2.0, False)),
        (P, 2.0, [], [], (0.0, 2.0, False)),  # no activity points configured: nothing to claim
        (I, 2.0, [], [1.0, 1.0], (0.0, 2.0, True)),  # issued by hand
        (None, 2.0, [1.0], [1.0, 1.0], (0.0, 2.0, False)),
    ],
)
def test_points(group: CertificateGroup | None, course: float, done: list[float], all_: list[float],
                expected: tuple[float, float, bool]) -> None:
    result = points(group, course_points=course, done_activity_points=done, all_activity_points=all_)
    assert (result.earned, result.total, result.manual) == expected


def test_activity_points_by_any_key() -> None:
    config = {"Håndhygiene": 1.0, "Q-1": 0.5, "13": 2.0}
    assert activity_points_for(config, ["", "håndhygiene", "12"]) == 1.0
    assert activity_points_for(config, ["Q-1", "Quiz"]) == 0.5
    assert activity_points_for(config, ["", "Smitte", "13"]) == 2.0
    assert activity_points_for(config, ["", "Annet", "99"]) == 0.0

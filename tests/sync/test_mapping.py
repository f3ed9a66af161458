"""Activity mapping: idnumber first, else name; never a silent guess."""

from __future__ import annotations

from lmsbridge.sync.mapping import Activity, map_activities


def test_recorded_courses_map_by_name() -> None:
    # ks course 3 KSL-HBHF-SMITTE-01 (cmids 5, 6) borrows lp course 5 HBHF-SMITTE-01 (cmids 12, 13): seed_data.json
    borrower = [Activity(5, "Håndhygiene"), Activity(6, "Smittemåter og barrierer")]
    owner = [Activity(11, "Announcements", tracked=False), Activity(12, "Håndhygiene"),
             Activity(13, "Smittemåter  og barrierer")]
    mapping = map_activities(borrower, owner)
    assert {b: o.cmid for b, o in mapping.pairs.items()} == {5: 12, 6: 13}
    assert mapping.by == {5: "name", 6: "name"}
    assert mapping.unmapped == ()


def test_idnumber_wins_over_name() -> None:
    borrower = [Activity(1, "Quiz", "Q-1"), Activity(2, "Les dette")]
    owner = [Activity(10, "Quiz", "Q-2"), Activity(11, "Prøve", "Q-1"), Activity(12, "Les dette")]
    mapping = map_activities(borrower, owner)
    assert {b: o.cmid for b, o in mapping.pairs.items()} == {1: 11, 2: 12}
    assert mapping.by == {1: "idnumber", 2: "name"}


def test_unmapped_activities_are_reported_with_a_reason() -> None:
    borrower = [
        Activity(1, "Dobbel"),  # two owner activities with that name
        Activity(2, "Finnes ikke"),
        Activity(3, "Prøve", "Q-9"),  # an idnumber without counterpart, and no such name either
        Activity(4, "Forum"),  # the owner's has no completion tracking
        Activity(5, "Untracked", tracked=False),  # not tracked on the borrower: ignored
    ]
    owner = [Activity(10, "Dobbel"), Activity(11, "dobbel"), Activity(12, "Quiz", "Q-1"),
             Activity(13, "Forum", tracked=False)]
    mapping = map_activities(borrower, owner)
    assert mapping.pairs == {}
    reasons = {u.activity.cmid: u.reason for u in mapping.unmapped}
    assert set(reasons) == {1, 2, 3, 4}
    assert {cmid: r.code for cmid, r in reasons.items()} == {
        1: "sync.unmapped.name_ambiguous", 2: "sync.unmapped.none", 3: "sync.unmapped.none",
        4: "sync.unmapped.untracked"}
    # rendered when shown, in the reader's language
    assert reasons[1].render("nb") == "2 aktiviteter hos eier heter «Dobbel»"
    assert reasons[1].render("en") == "2 owner activities are named «Dobbel»"
    assert reasons[2].render("nb") == "ingen aktivitet hos eier med samme ID-nummer eller navn"
    assert reasons[3].render("en") == "no owner activity with the same ID number or name"
    assert reasons[4].render("nb") == "aktiviteten «Forum» hos eier har ikke fullføringssporing"
    assert reasons[4].render("en") == "owner activity «Forum» has no completion tracking"


def test_an_owner_activity_is_used_once() -> None:
    borrower = [Activity(1, "A", "X"), Activity(2, "B", "X")]
    owner = [Activity(10, "C", "X")]
    mapping = map_activities(borrower, owner)
    assert {b: o.cmid for b, o in mapping.pairs.items()} == {1: 10}
    reason = mapping.unmapped[0].reason
    assert reason.render("nb") == "aktiviteten cm:10 hos eier er allerede knyttet til cm:1"
    assert reason.render("en") == "owner activity cm:10 is already mapped to cm:1"
    assert mapping.owner_cmids == frozenset({10})


def test_an_idnumber_used_twice_by_the_owner_is_not_guessed() -> None:
    mapping = map_activities([Activity(1, "A", "X")], [Activity(10, "B", "X"), Activity(11, "C", "X")])
    assert mapping.pairs == {}
    reason = mapping.unmapped[0].reason
    assert reason.render("nb") == "ID-nummeret «X» brukes av 2 aktiviteter hos eier"
    assert reason.render("en") == "the ID number «X» is used by 2 owner activities"


def test_differing_idnumbers_fall_back_to_the_name() -> None:
    # the sandbox (like a restored copy) gives each course its own idnumbers: KSL-HBHF-SMITTE-01-A1 vs HBHF-SMITTE-01-A1
    borrower = [Activity(5, "Håndhygiene", "KSL-HBHF-SMITTE-01-A1"), Activity(6, "Smittemåter og barrierer", "X")]
    owner = [Activity(12, "Håndhygiene", "HBHF-SMITTE-01-A1"), Activity(13, "Smittemåter og barrierer", "X")]
    mapping = map_activities(borrower, owner)
    assert {b: o.cmid for b, o in mapping.pairs.items()} == {5: 12, 6: 13}
    assert mapping.by == {5: "name", 6: "idnumber"}

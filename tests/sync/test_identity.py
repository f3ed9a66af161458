"""Identity matching across the two sites, table-driven over the recorded edge cases (seed_data.json)."""

from __future__ import annotations

import pytest

from lmsbridge.config import SyncConfig
from lmsbridge.sync.identity import Directory, Person, learner_key, lookup_values, match, usable_keys
from tests.conftest import fixture

# The owner (ks) side as recorded: different usernames from lp, u09's email in mixed case, u10 without idnumber.
KS = Directory.of(
    [
        Person(4, "kari.nordmann@helse-bergen.no", "HB10001", "kari.nordmann@helse-bergen.no"),
        Person(12, "nils.kristiansen@helse-bergen.no", "HB10009", "Nils.Kristiansen@Helse-Bergen.no"),
        Person(13, "hilde.berg@helse-bergen.no", "", "hilde.berg@helse-bergen.no"),
        Person(30, "dup1", "", "shared@kommune.no"),
        Person(31, "dup2", "", "shared@kommune.no"),
        Person(32, "hb10099", "X-1", "x@kommune.no"),
    ]
)


@pytest.mark.parametrize(
    ("learner", "keys", "expected_id", "by"),
    [
        # different usernames on the two sites (username is not compared between them): idnumber finds her
        (Person(4, "hb10001", "HB10001", "kari.nordmann@helse-bergen.no"), ("idnumber", "email"), 4, "idnumber"),
        # email differing only in case (idnumber not configured)
        (Person(12, "hb10009", "", "nils.kristiansen@helse-bergen.no"), ("email",), 12, "email"),
        # no idnumber on the owner side: email takes over
        (Person(13, "hb10010", "HB10010", "hilde.berg@helse-bergen.no"), ("idnumber", "email"), 13, "email"),
        # username only when configured, compared without case
        (Person(9, "HB10099", "", ""), ("username",), 32, "username"),
        (Person(9, "HB10099", "", ""), ("idnumber", "email"), None, None),
        # a key naming two people is not used; the next key decides
        (Person(9, "dup1", "", "shared@kommune.no"), ("email", "username"), 30, "username"),
        (Person(9, "nobody", "", "shared@kommune.no"), ("email", "username"), None, None),
        # empty values never match
        (Person(9, "", "", ""), ("idnumber", "email", "username"), None, None),
        # whitespace and case around an idnumber
        (Person(9, "", " x-1 ", ""), ("idnumber",), 32, "idnumber"),
    ],
)
def test_match(learner: Person, keys: tuple[str, ...], expected_id: int | None, by: str | None) -> None:
    result = match(learner, KS, keys)  # type: ignore[arg-type]
    assert (result.person.id if result.person else None) == expected_id
    assert result.key == by


# Every key present on both sides must agree (issue 11 item 5): otherwise a conflict, for a person.
@pytest.mark.parametrize(
    ("learner", "keys", "by", "conflict"),
    [
        # the case: idnumber KS-555, username ola, matched by username to owner HB-20002
        (Person(9, "ola", "KS-555", ""), ("idnumber", "email", "username"), "username", ("idnumber",)),
        # the recorded nurse, had username been compared between the two sites
        (Person(4, "hb10001", "HB10001", "kari.nordmann@helse-bergen.no"), ("idnumber", "email", "username"),
         "idnumber", ("username",)),
        # idnumber finds one person, email another
        (Person(9, "", "X-1", "kari.nordmann@helse-bergen.no"), ("idnumber", "email"), "idnumber", ("email",)),
        # found by email; the idnumbers differ
        (Person(9, "", "HB99999", "hilde.berg@helse-bergen.no"), ("idnumber", "email"), "email", ()),
        (Person(9, "", "HB99999", "x@kommune.no"), ("idnumber", "email"), "email", ("idnumber",)),
    ],
)
def test_keys_that_disagree_are_a_conflict_not_a_match(learner: Person, keys: tuple[str, ...], by: str,
                                                        conflict: tuple[str, ...]) -> None:
    owners = Directory.of([*KS.people.values(), Person(40, "ola", "HB-20002", "")])
    result = match(learner, owners, keys)  # type: ignore[arg-type]
    if not conflict:  # Hilde has no idnumber on the owner's side: nothing to disagree with
        assert result.found and result.key == by
        return
    assert not result.found and result.key == by and result.conflict == conflict
    assert result.reason.code == "sync.match.conflict"
    assert result.reason.render("en") == (f"identity conflict: found by {by}, but {'/'.join(conflict)} differs on "
                                          "the owner's side; a person must decide who this is («lmsbridge sync "
                                          "status --reveal» shows both)")
    assert "KS-555" not in result.reason.render("en") and "ola" not in result.reason.render("en")


def test_usernames_are_compared_only_between_platforms_that_share_them() -> None:
    assert usable_keys(("idnumber", "email", "username"), usernames=False) == ("idnumber", "email")
    assert usable_keys(("username", "email"), usernames=True) == ("username", "email")
    settings = SyncConfig(username_pairs=[("ks", "lp")])
    assert settings.usernames_shared("lp", "ks") and settings.usernames_shared("ks", "lp")
    assert not SyncConfig().usernames_shared("ks", "lp")


def test_ambiguous_reason_names_the_key_not_the_person() -> None:
    result = match(Person(9, "nobody", "", "shared@kommune.no"), KS, ["email"])
    assert not result.found
    for lang, text in (("nb", "tvetydig: flere kontoer hos eier har samme email"),
                       ("en", "ambiguous: several owner accounts have the same email")):
        assert result.reason.render(lang) == text
        assert "shared@" not in result.reason.render(lang)


def test_no_match_says_which_keys_were_compared() -> None:
    result = match(Person(9, "nobody", "", "nobody@kommune.no"), KS)
    assert result.reason.code == "sync.match.none"
    assert result.reason.render("nb") == "ingen konto hos eier med samme idnumber/email/username"
    assert result.reason.render("en") == "no owner account with the same idnumber/email/username"


def test_lookup_values_ask_for_exact_and_lower_case() -> None:
    learners = [Person(1, email="Nils.Kristiansen@Helse-Bergen.no"), Person(2, email="a@b.no"), Person(3)]
    assert lookup_values(learners, "email") == ["Nils.Kristiansen@Helse-Bergen.no", "nils.kristiansen@helse-bergen.no",
                                                "a@b.no"]
    # Moodle refuses a username that cleaning would change (upper case): only the lower-case form is asked.
    assert lookup_values([Person(1, username="HB10001")], "username") == ["hb10001"]


def test_recorded_lookups_show_why_both_forms_are_needed() -> None:
    exact = fixture("ks__core_user_get_users_by_field__ok_email_exact_case")
    lower = fixture("ks__core_user_get_users_by_field__ok_email_case")
    assert len(exact["response"]) == 1 and lower["response"] == []
    assert exact["params"]["values"][0] != exact["params"]["values"][0].lower()


def test_learner_key_is_a_stable_pseudonym() -> None:
    one = learner_key(b"s" * 32, "ks", 4)
    assert one == learner_key(b"s" * 32, "ks", 4)
    assert one != learner_key(b"s" * 32, "lp", 4)
    assert one != learner_key(b"t" * 32, "ks", 4)
    assert len(one) == 64 and all(ch in "0123456789abcdef" for ch in one)

"""An unknown user name is refused after the same work as a wrong password."""

from __future__ import annotations

from argon2 import extract_parameters

from app.store.users import users_repo


def test_the_stand_in_hash_costs_what_a_real_one_costs() -> None:
    real = users_repo._hasher.hash("a real password")
    assert extract_parameters(users_repo._DUMMY) == extract_parameters(real)
    assert users_repo._hasher.verify(users_repo._DUMMY, "not a real password")


def test_an_unknown_name_is_refused(store) -> None:
    assert store.users.authenticate("nobody", "any password at all") is None

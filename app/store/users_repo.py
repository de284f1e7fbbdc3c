"""Program users of this practice database and signing in."""

from __future__ import annotations

import contextlib
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select

from app.store.db import Database
from app.store.dto import UserRow
from app.store.errors import StoreError
from app.store.models import User

_hasher = PasswordHasher()
MIN_PASSWORD = 8
_USERNAME = re.compile(r"^[\w.\-@]{2,100}$")


class UserError(StoreError):
    pass


def _row(u: User) -> UserRow:
    return UserRow(u.id, u.username, u.display_name, u.role)


class UsersRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def count(self) -> int:
        with self.db.read() as s:
            return int(s.execute(select(func.count()).select_from(User)).scalar_one())

    def list(self) -> list[UserRow]:
        with self.db.read() as s:
            return [_row(u) for u in s.scalars(select(User).order_by(User.display_name))]

    def create(self, username: str, display_name: str, password: str, role: str) -> UserRow:
        username = username.strip()
        if not _USERNAME.match(username):
            raise UserError("A user name has 2 to 100 letters, digits, dots, dashes or @.")
        if len(password) < MIN_PASSWORD:
            raise UserError(f"A password needs at least {MIN_PASSWORD} characters.")
        if role not in ("admin", "member"):
            raise UserError("The role is admin or member.")
        with self.db.write() as s:
            if s.scalar(select(User).where(func.lower(User.username) == username.lower())):
                raise UserError(f"There is already a user called {username}.")
            u = User(
                username=username,
                display_name=display_name.strip() or username,
                password_hash=_hasher.hash(password),
                role=role,
            )
            s.add(u)
            s.flush()
            return _row(u)

    def authenticate(self, username: str, password: str) -> UserRow | None:
        with self.db.read() as s:
            u = s.scalar(
                select(User).where(
                    func.lower(User.username) == username.strip().lower(), User.active.is_(True)
                )
            )
        if u is None:
            # Spend the same time as a real check, so a wrong name is not told apart.
            with contextlib.suppress(VerificationError, InvalidHashError):
                _hasher.verify(_DUMMY, password)
            return None
        try:
            _hasher.verify(u.password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        return _row(u)


_DUMMY = _hasher.hash("not a real password")

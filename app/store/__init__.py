"""The local practice database (SQLite with SQLCipher). No Qt.

At the top, the database itself: opening and keys (db, keys, recovery_code, migrate),
the ORM models (which stay inside this package), the frozen dataclasses handed out
(dto), errors, who may see which patient (access), settings, and all repositories over
one database (services). The repositories by area: patients, schedule, images, sync,
users; a new area gets its own folder."""

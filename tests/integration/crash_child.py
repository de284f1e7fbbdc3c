"""Child process of the crash test: saves patients and their visits until it is killed.

    python -m tests.integration.crash_child DATABASE SEED

Opens (creating if needed) the practice database at DATABASE with its key in a key
file under CHAIRSIDE_CONFIG_DIR, then loops: create a patient, add a visit, now and
then edit the patient. After each commit returns it prints, flushed:

    confirmed patient <patient id>
    confirmed visit <visit id> <patient id>
    confirmed note <patient id> <note>

The parent (test_crash.py) kills it with SIGKILL at random moments and checks that
every confirmed save survived.
"""

from __future__ import annotations

import random
import sys
from decimal import Decimal
from pathlib import Path

from keyring.backends import null

from app.platform.secrets import SecretStore
from app.store.db import open_database
from app.store.dto import Viewer
from app.store.services import Store

# The patients belong to one administrator; no sign-in is needed to save through the repos.
ADMIN_ID = "01930000-0000-7000-8000-000000000001"

_FIRST = ["Ana", "José", "Zoë", "محمد", "小明", "Ольга", "Łukasz", "Fatima", "Søren", "Émile"]
_LAST = ["Lima", "García", "Ångström", "العلي", "王", "Иванова", "Wójcik", "Haddad", "Ørsted"]


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def run(path: Path, seed: int) -> None:
    rnd = random.Random(seed)
    # No OS keyring here: the key lives in a key file, as on a PC without one.
    db = open_database(path, SecretStore(null.Keyring()), allow_key_file=True)
    store = Store.over(db)
    viewer = Viewer(ADMIN_ID, True, "Crash test")
    say("ready")
    i = 0
    while True:
        i += 1
        p = store.patients.create(
            viewer,
            {
                "first_name": rnd.choice(_FIRST),
                "last_name": f"{rnd.choice(_LAST)} {seed}-{i}",
                "mobile": f"+{rnd.randrange(10**9, 10**12)}",
                "gender": rnd.choice(["female", "male", "other", "unknown"]),
                "email": f"p{seed}.{i}@example.com",
                "card_number": f"C{seed}-{i}",
            },
        )
        say(f"confirmed patient {p.id}")
        v = store.records.add_visit(
            viewer,
            p.id,
            {
                "visit_date": f"2026-{rnd.randrange(1, 13):02d}-{rnd.randrange(1, 29):02d}",
                "procedure": "Check-up",
                "amount_paid": Decimal(rnd.randrange(0, 100_000)) / 100,
            },
        )
        say(f"confirmed visit {v.id} {p.id}")
        if i % 3 == 0:
            note = f"note-{seed}-{i}"
            store.patients.update(viewer, p.id, {"note": note})
            say(f"confirmed note {p.id} {note}")


def main() -> None:
    run(Path(sys.argv[1]), int(sys.argv[2]))


if __name__ == "__main__":
    main()

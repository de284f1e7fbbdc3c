"""A practice whose PCs joined the cloud before a clinic was made as a PC joins: after
the update, its agent's first sync makes the clinic, named after the practice, so that
labs find it without an administrator opening the Institution window first."""

from __future__ import annotations

from sqlalchemy import create_engine, delete, select
from sqlalchemy.orm import Session

from app.platform.secrets import SecretStore
from cloud.institutions.models import Institution
from sync_agent import connection
from sync_agent.runner import Agent
from tests.conftest import _KEYRING
from tests.integration.cloud.conftest import Server
from tests.support.institutions import lab_requests, make_lab


def test_the_first_sync_after_the_update_makes_the_practices_clinic(clinic, cloud: Server
                                                                     ) -> None:
    [pc] = clinic(1)
    conn = connection.load(pc.store.db, SecretStore(_KEYRING))
    assert conn is not None
    db_url = f"sqlite:///{(cloud.data / 'cloud.sqlite3').as_posix()}"
    engine = create_engine(db_url)
    # As the previous release left it: no clinic on the cloud, no code on the PC.
    with Session(engine) as s, s.begin():
        s.execute(delete(Institution).where(Institution.installation_id == conn.installation_id))
    pc.store.settings.set("institution_code", "")
    name = f"Harbour Dental {conn.installation_id}"
    pc.store.settings.set("practice_name", name)

    updated = Agent(pc.store.db, SecretStore(_KEYRING), tick_s=0.05)  # the new release
    updated.sync_once(forced=True)
    assert updated.last_error is None, updated.last_error

    code = pc.store.settings.get("institution_code")
    with Session(engine) as s:
        [made] = s.scalars(select(Institution).where(
            Institution.installation_id == conn.installation_id)).all()
    assert (made.code, made.name) == (code, name)
    lab = make_lab(db_url, "Harbour Lab")
    assert "was sent" in lab_requests(cloud.url, lab, name)
    engine.dispose()

    # Asked once a run: a later sync does not ask again, and the code stays.
    updated.sync_once(forced=True)
    assert pc.store.settings.get("institution_code") == code

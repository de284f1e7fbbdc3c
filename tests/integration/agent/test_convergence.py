"""Three PCs edit while offline, in any order, and decide conflicts on any of them;
after reconnecting all converge, no concurrent edit is lost without a conflict record,
and every PC holds the cloud's conflict list, decisions included (Hypothesis state
machine against a real cloud on loopback)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from app.platform.secrets import SecretStore
from app.store.errors import StoreError
from app.store.models import SYNCED_MODELS, ConflictRecord, OutboxMutation, Patient
from app.store.sync.conflicts_repo import ConflictsRepo
from app.store.sync.sync_repo import SyncRepo, decisions_to_send
from sync_agent import connection
from sync_agent.runner import Agent
from tests.conftest import _KEYRING
from tests.integration.agent.conftest import new_pc
from tests.unit.cloud.support import register_practice

REPLICAS = 3
EXAMPLES = int(os.environ.get("CHAIRSIDE_CONVERGENCE_EXAMPLES", "10"))
FIELDS = ("note", "allergies")  # few fields, so that concurrent edits of one happen often
VALUES = st.sampled_from(["A", "B", "C", "+4915112345", "Ä ü", "北京", ""])
# Few names, so that two PCs often make the same user while apart.
USERNAMES = st.sampled_from(["drlee", "DrLee", "drkim", "ana"])


def snapshot(store) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    with store.db.read() as s:
        for model in SYNCED_MODELS:
            for row in s.scalars(select(model)):
                fields = {n: getattr(row, n) for n in row.stamps}
                fields["__stamps"] = {n: v[0] for n, v in row.stamps.items()}
                out[f"{model.__entity__}:{row.id}"] = fields
    return out


class Clinic(RuleBasedStateMachine):
    env: ClassVar[dict[str, Any]] = {}
    patients = Bundle("patients")
    users = Bundle("users")

    def __init__(self) -> None:
        super().__init__()
        cloud = self.env["cloud"]
        folder = Path(tempfile.mkdtemp(dir=self.env["tmp"]))
        with httpx.Client(base_url=cloud.url, timeout=30) as http:
            inst, password = register_practice(
                http, cloud.mail_dir, f"c{os.urandom(4).hex()}@example.com"
            )
        self.secrets = SecretStore(_KEYRING)
        self.pcs = []
        for i in range(REPLICAS):
            store = new_pc(f"pc{i}", folder, self.env["template"])
            connection.register_device(store.db, self.secrets, cloud.url, inst, password)
            admin = store.users.create("admin", "Admin", "correct horse", "admin")
            self.pcs.append([store, Agent(store.db, self.secrets, tick_s=0), admin])
        self.online = [True] * REPLICAS
        # entity_id, field, hlc, base, value
        self.writes: list[tuple[str, str, str, str | None, object]] = []
        self.recorded: set[str] = set()
        self.folder = folder

    def teardown(self) -> None:
        for store, _, _ in self.pcs:
            store.db.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _record_writes(self, store, before: int) -> None:
        with store.db.read() as s:
            for m in s.scalars(select(OutboxMutation).where(OutboxMutation.seq > before)):
                if m.mutation_id in self.recorded:
                    continue
                self.recorded.add(m.mutation_id)
                for name, stamp in m.payload["hlc"].items():
                    self.writes.append(
                        (
                            m.entity_id,
                            name,
                            stamp,
                            m.payload["base"][name],
                            m.payload["fields"][name],
                        )
                    )

    def _last_seq(self, store) -> int:
        with store.db.read() as s:
            return (
                s.execute(select(OutboxMutation.seq).order_by(OutboxMutation.seq.desc())).scalar()
                or 0
            )

    @initialize(target=patients)
    def known_everywhere(self) -> object:
        """Two patients every PC already holds, so edits can clash from the first step,
        and one conflict every PC lists, so deciding one is tried in every run."""
        ids = [self.create(0, "Start"), self.create(0, "Other")]
        self.sync_all_online()
        self.sync_all_online()
        self.edit(1, ids[0], "note", "from PC 1")
        self.edit(2, ids[0], "note", "from PC 2")
        self.sync_all_online()
        self.sync_all_online()
        return multiple(*ids)

    @rule(target=patients, pc=st.integers(0, REPLICAS - 1), name=VALUES)
    def create(self, pc: int, name: str) -> str:
        store, _, admin = self.pcs[pc]
        before = self._last_seq(store)
        p = store.patients.create(admin.viewer(), {"first_name": f"P{name}", "last_name": "X"})
        self._record_writes(store, before)
        return p.id

    @rule(
        pc=st.integers(0, REPLICAS - 1),
        patient=patients,
        field=st.sampled_from(FIELDS),
        value=VALUES,
    )
    def edit(self, pc: int, patient: str, field: str, value: str) -> None:
        store, _, _ = self.pcs[pc]
        before = self._last_seq(store)
        with store.db.write() as s:
            row = s.get(Patient, patient)
            if row is None or row.merged_into:
                return  # this PC has not seen the patient yet
            setattr(row, field, value or None if field != "last_name" else value or "X")
        self._record_writes(store, before)

    @rule(pc=st.integers(0, REPLICAS - 1), patient=consumes(patients))
    def delete(self, pc: int, patient: str) -> None:
        store, _, _ = self.pcs[pc]
        before = self._last_seq(store)
        with store.db.write() as s:
            row = s.get(Patient, patient)
            if row is not None:
                row.deleted = True
        self._record_writes(store, before)

    @rule(pc=st.integers(0, REPLICAS - 1), kept=patients, merged=consumes(patients))
    def merge(self, pc: int, kept: str, merged: str) -> None:
        store, _, _ = self.pcs[pc]
        if kept == merged:
            return
        before = self._last_seq(store)
        with store.db.write() as s:
            a, b = s.get(Patient, kept), s.get(Patient, merged)
            if a is None or b is None or a.merged_into or b.merged_into:
                return
            b.merged_into = kept
        self._record_writes(store, before)

    # Merging duplicates by hand (app.store.patients.merge_repo) and undoing it: rows
    # move between patients while other PCs edit and add to them offline.
    @rule(pc=st.integers(0, REPLICAS - 1), kept=patients, merged=patients)
    def merge_by_hand(self, pc: int, kept: str, merged: str) -> None:
        store, _, admin = self.pcs[pc]
        if kept == merged:
            return
        before = self._last_seq(store)
        try:
            store.merges.merge(admin.viewer(), kept, [merged])
        except StoreError:
            return  # not seen here yet, deleted, or merged already
        self._record_writes(store, before)

    @rule(pc=st.integers(0, REPLICAS - 1), patient=patients)
    def undo_merge(self, pc: int, patient: str) -> None:
        store, _, admin = self.pcs[pc]
        try:
            merges = store.merges.merges(admin.viewer(), patient)
            if not merges:
                return
            before = self._last_seq(store)
            store.merges.undo(admin.viewer(), merges[0].id)
        except StoreError:
            return
        self._record_writes(store, before)

    @rule(pc=st.integers(0, REPLICAS - 1), patient=patients, day=st.integers(1, 28))
    def add_visit(self, pc: int, patient: str, day: int) -> None:
        store, _, admin = self.pcs[pc]
        with store.db.read() as s:
            row = s.get(Patient, patient)
            if row is None or row.deleted or row.merged_into:
                return
        before = self._last_seq(store)
        store.records.add_visit(admin.viewer(), patient, {"visit_date": f"2026-02-{day:02d}"})
        self._record_writes(store, before)

    @rule(target=users, pc=st.integers(0, REPLICAS - 1), username=USERNAMES)
    def create_user(self, pc: int, username: str) -> object:
        store, _, admin = self.pcs[pc]
        before = self._last_seq(store)
        try:
            user = store.users.create(username, f"Dr {username}", "correct horse", "member",
                                      by=admin.viewer())
        except StoreError:
            return multiple()  # this PC already has a user of that name
        self._record_writes(store, before)
        return user.id

    @rule(pc=st.integers(0, REPLICAS - 1), user=users, name=VALUES)
    def rename_user(self, pc: int, user: str, name: str) -> None:
        store, _, admin = self.pcs[pc]
        before = self._last_seq(store)
        with contextlib.suppress(StoreError):  # not seen here yet, or merged away
            store.users.update(admin.viewer(), user, display_name=f"Dr {name}")
        self._record_writes(store, before)

    @rule(pc=st.integers(0, REPLICAS - 1), user=users, active=st.booleans())
    def disable_user(self, pc: int, user: str, active: bool) -> None:
        store, _, admin = self.pcs[pc]
        before = self._last_seq(store)
        with contextlib.suppress(StoreError):
            store.users.update(admin.viewer(), user, active=active)
        self._record_writes(store, before)

    @rule(pc=st.integers(0, REPLICAS - 1), patient=patients, user=users)
    def assign(self, pc: int, patient: str, user: str) -> None:
        store, _, admin = self.pcs[pc]
        before = self._last_seq(store)
        with contextlib.suppress(StoreError):
            store.patients.update(admin.viewer(), patient, {"responsible_user_id": user})
        self._record_writes(store, before)

    @rule(pc=st.integers(0, REPLICAS - 1), pick=st.integers(0, 7),
          choice=st.sampled_from(["kept", "other", "dismissed"]))
    def decide(self, pc: int, pick: int, choice: str) -> None:
        """A person on this PC settles one of the conflicts it lists."""
        store, _, admin = self.pcs[pc]
        inbox = ConflictsRepo(store.db)
        rows = inbox.open(admin.viewer())
        if not rows:
            return
        key = rows[pick % len(rows)].key
        before = self._last_seq(store)
        with contextlib.suppress(StoreError):  # its record was deleted or merged away
            if choice == "dismissed":
                inbox.dismiss(admin.viewer(), key)
            else:
                inbox.resolve(admin.viewer(), key, use_other=choice == "other")
        self._record_writes(store, before)

    @rule(pc=st.integers(0, REPLICAS - 1))
    def partition(self, pc: int) -> None:
        self.online[pc] = False

    @rule(pc=st.integers(0, REPLICAS - 1))
    def heal(self, pc: int) -> None:
        self.online[pc] = True

    @rule(pc=st.integers(0, REPLICAS - 1))
    def restart_agent(self, pc: int) -> None:
        store = self.pcs[pc][0]
        self.pcs[pc][1] = Agent(store.db, self.secrets, tick_s=0)

    @precondition(lambda self: any(self.online))
    @rule(pc=st.integers(0, REPLICAS - 1))
    def sync(self, pc: int) -> None:
        if self.online[pc]:
            self._sync(pc)

    def _sync(self, pc: int) -> None:
        store, agent, _ = self.pcs[pc]
        agent.sync_once(forced=True)
        assert agent.last_error is None, agent.last_error
        # A PC that pulls a user with the name of one of its own merges the two: a
        # write of its own, made on top of what it holds (the outbox reuses the numbers
        # of rows that went up, so all of it is read, each change once).
        self._record_writes(store, 0)

    @rule()
    def sync_all_online(self) -> None:
        for pc in range(REPLICAS):
            self.sync(pc)

    @invariant()
    def outbox_never_holds_failures(self) -> None:
        for store, _, _ in self.pcs:
            assert SyncRepo(store.db).outbox_counts()[1] == 0

    def converge(self) -> None:
        self.online = [True] * REPLICAS
        snaps = self._sync_until_quiet()
        self._check_no_silent_loss(snaps[0])
        self._check_users()
        self._check_conflict_lists()
        # Then every conflict left is decided, each on another PC (the first of them
        # on two PCs at once): after syncing, none of them is open anywhere, and each is
        # settled everywhere as the cloud settled it. (Two decisions that write
        # different values into one field concurrently are a new conflict.)
        decided: set[str] = set()
        for i, (store, _, admin) in enumerate(self.pcs):
            inbox = ConflictsRepo(store.db)
            rows = inbox.open(admin.viewer())
            for n, row in enumerate(rows):
                if n % REPLICAS != i and not (n == 0 and i == 1):
                    continue
                decided.add(row.key)
                with contextlib.suppress(StoreError):
                    if n % 3 == 2:
                        inbox.dismiss(admin.viewer(), row.key)
                    else:
                        inbox.resolve(admin.viewer(), row.key, use_other=n % 3 == 1)
            self._record_writes(store, 0)
        self._sync_until_quiet()
        self._check_conflict_lists()
        for store, _, admin in self.pcs:
            assert not {r.key for r in ConflictsRepo(store.db).open(admin.viewer())} & decided

    def _sync_until_quiet(self) -> list[dict[str, dict[str, object]]]:
        """Sync every PC until a round in which nobody had anything to send: then every
        PC pulled everything. A merge of two users of one name is made by each PC that
        notices it at a pull and goes up with its next sync, so this takes a few
        rounds. Returns each PC's snapshot, all equal."""
        for _ in range(8):
            quiet = all(self._quiet(store) for store, _, _ in self.pcs)
            for pc in range(REPLICAS):
                self._sync(pc)
            if quiet and all(self._quiet(store) for store, _, _ in self.pcs):
                break
        snaps = [snapshot(store) for store, _, _ in self.pcs]
        for other in snaps[1:]:
            diff = {
                k: (snaps[0].get(k), other.get(k))
                for k in set(snaps[0]) | set(other)
                if snaps[0].get(k) != other.get(k)
            }
            assert not diff, f"replicas differ: {diff}"
        return snaps

    @staticmethod
    def _quiet(store) -> bool:
        """Nothing to send: no change, no decision taken in the conflict inbox."""
        return SyncRepo(store.db).outbox_counts() == (0, 0) and not decisions_to_send(store.db)

    def _check_conflict_lists(self) -> None:
        """Every PC holds the cloud's conflicts, each settled as it was there, and shows
        the same ones to review."""
        lists = []
        for store, _, _ in self.pcs:
            with store.db.read() as s:
                lists.append({c.key: c.resolution for c in s.scalars(select(ConflictRecord))})
        client = connection.load(self.pcs[0][0].db, self.secrets).client()
        cloud: dict[str, str | None] = {}
        cursor = 0
        while True:
            page = client.conflicts(cursor)
            cloud.update((c["key"], c["resolution"]) for c in page["conflicts"])
            cursor = page["cursor"]
            if not page["more"]:
                break
        for i, held in enumerate(lists):
            assert held == cloud, f"PC {i} holds another conflict list than the cloud"
        shown = [
            [r.key for r in ConflictsRepo(store.db).open(admin.viewer())]
            for store, _, admin in self.pcs
        ]
        assert all(keys == shown[0] for keys in shown[1:]), shown

    def _check_users(self) -> None:
        """One user per name, the same on every PC, and every patient's doctor one of
        them."""
        listed = [store.users.list() for store, _, _ in self.pcs]
        assert all(users == listed[0] for users in listed[1:])
        names = [u.username.lower() for u in listed[0]]
        assert len(names) == len(set(names)), names
        for store, _, _ in self.pcs:
            with store.db.read() as s:
                owners = set(s.scalars(select(Patient.responsible_user_id)))
            for owner in owners - {None}:
                user = store.users.get(owner)
                assert user is not None and user in listed[0], owner

    def _check_no_silent_loss(self, final: dict[str, dict[str, object]]) -> None:
        # What a person can still see of each field: every value kept in an inbox.
        kept: set[tuple[str, str, str]] = set()
        for store, _, _ in self.pcs:
            with store.db.read() as s:
                for c in s.scalars(select(ConflictRecord)):
                    kept.add((c.entity_id, c.field, repr(c.loser_value)))
                    kept.add((c.entity_id, c.field, repr(c.winner_value)))
        # A write was seen when a later write was made on top of it (its base is exactly
        # this write's stamp); otherwise, if its value is not what everybody holds now,
        # it lost to a concurrent write and its value must be kept in the conflict inbox.
        seen = {(e, f, base) for e, f, _, base, _ in self.writes if base}
        # Values somebody wrote on top of: a person saw them when making the next edit.
        seen_values = {
            (e, f, repr(v)) for e, f, stamp, _, v in self.writes if (e, f, stamp) in seen
        }
        for entity_id, name, stamp, _, value in self.writes:
            row = next((v for k, v in final.items() if k.endswith(entity_id)), None)
            assert row is not None, "a row was lost"
            if row["__stamps"][name] == stamp or row[name] == value:
                continue
            said = (entity_id, name, repr(value))
            visible = said in kept or said in seen_values
            history = [w for w in self.writes if w[0] == entity_id and w[1] == name]
            assert (entity_id, name, stamp) in seen or visible, (
                f"{name} of {entity_id} was lost silently: {stamp} among {history}; "
                f"final {row['__stamps'][name]}"
            )


@pytest.mark.timeout(900)
def test_replicas_converge_and_lose_nothing_silently(cloud, tmp_path, _template_db) -> None:
    Clinic.env = {"cloud": cloud, "tmp": tmp_path, "template": _template_db}

    class Checked(Clinic):
        def teardown(self) -> None:
            try:
                self.converge()
            finally:
                super().teardown()

    run_state_machine_as_test(
        Checked,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )

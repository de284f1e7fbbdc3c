"""What the dissolution wizard and the revoke of Practice ▸ Institution do, without Qt:
the administrator accounts a code can go to, the code, the confirmation, the revoke.
Every method talks to the network, so it runs on a worker (ReadOp)."""

from __future__ import annotations

from dataclasses import dataclass

from sync_agent.institution_service import Institutions, InstitutionView, view_of

PATH = "/dissolution"


@dataclass(frozen=True, slots=True)
class Account:
    """An administrator account of the institution: its key, name and masked address."""

    key: str
    name: str
    sent_to: str


@dataclass(frozen=True, slots=True)
class CodeSent:
    code_id: str
    sent_to: str


class Dissolutions(Institutions):
    def accounts(self) -> list[Account]:
        rows = self._json("GET", f"{PATH}/accounts")
        return [Account(str(r["key"]), str(r["name"]), str(r["sent_to"])) for r in rows]

    def send_code(self, account: str) -> CodeSent:
        d = self._json("POST", f"{PATH}/code", {"account": account})
        return CodeSent(str(d["code_id"]), str(d["sent_to"]))

    def confirm(self, code_id: str, code: str) -> InstitutionView:
        return view_of(self._json("POST", f"{PATH}/confirm",
                                  {"code_id": code_id, "code": code}))

    def revoke(self) -> InstitutionView:
        return view_of(self._json("POST", f"{PATH}/revoke", {}))

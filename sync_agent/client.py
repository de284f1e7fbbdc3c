"""The cloud's HTTP API, as the agent calls it (requests).

Errors are split by what to do about them: TransientError (network trouble, 5xx, 429:
try again later, maybe after Retry-After) and RejectedError (a 4xx that will fail
again: stop and show the server's reason).
"""

from __future__ import annotations

from typing import Any

import orjson
import requests

from app.core.wire import SHARED_HLC, SHARED_HLC_HEADER

API = "/api/v1"
CONNECT_TIMEOUT_S = 10
READ_TIMEOUT_S = 30  # a silent link is noticed within this


UNVERIFIED = ("the server's identity could not be verified (its certificate is not "
              "trusted on this computer or is not for this address): nothing was sent; "
              "check the server address")


class CloudError(Exception):
    pass


class TransientError(CloudError):
    def __init__(self, message: str, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UntrustedServer(TransientError):
    """The server's certificate could not be verified: nothing was sent."""

    def __init__(self) -> None:
        super().__init__(UNVERIFIED)


class RejectedError(CloudError):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"the server refused it: {reason}")
        self.status = status
        self.reason = reason


class AuthError(RejectedError):
    pass


def _reason(response: requests.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = None
    if isinstance(detail, str):
        return detail[:500]
    if isinstance(detail, list):
        # Validation errors: where and what only; their "input" may hold a password.
        parts = [
            f"{'.'.join(str(x) for x in d.get('loc', [])[1:])}: {d.get('msg', '')}"
            for d in detail
            if isinstance(d, dict)
        ]
        return "; ".join(parts)[:500] or "the request was not valid"
    if detail:
        return "the request was not valid"
    return response.reason or f"HTTP {response.status_code}"


def unreachable(exc: requests.RequestException) -> TransientError:
    """The network trouble in the words the status bar shows (no library names)."""
    if isinstance(exc, requests.exceptions.SSLError):
        return UntrustedServer()
    if isinstance(exc, requests.Timeout):
        return TransientError("the server did not answer in time")
    return TransientError("no connection to the server")


def check(response: requests.Response) -> requests.Response:
    status = response.status_code
    if status < 400:
        return response
    if status == 429 or status >= 500:
        retry = response.headers.get("Retry-After", "0")
        try:
            after = float(retry)
        except ValueError:
            after = 0.0
        if status == 507:
            raise TransientError("the server's storage is full; trying again later", after)
        raise TransientError("the server is busy or failing; trying again shortly", after)
    if status in (401, 403):
        raise AuthError(status, _reason(response))
    raise RejectedError(status, _reason(response))


class CloudClient:
    def __init__(
        self, base_url: str, token: str | None = None, session: requests.Session | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = session or requests.Session()
        self.token = token
        # Whether the cloud's last push answer said it takes a mutation's stamps in the
        # shared form (app.core.wire.SHARED_HLC): batches read after it are sent so.
        self.shared_hlc = False

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def _call(
        self, method: str, path: str, extra_headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        try:
            response = self.http.request(
                method,
                self.base_url + path,
                headers={**self._headers(), **(extra_headers or {})},
                timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S),
                **kwargs,
            )
        except requests.RequestException as exc:
            raise unreachable(exc) from None
        return check(response)

    # Registration ---------------------------------------------------------------------
    def register_installation(self, email: str) -> str:
        return str(
            self._call("POST", f"{API}/installations", json={"email": email}).json()[
                "installation_id"
            ]
        )

    def register_device(
        self, installation_id: str, upload_password: str, node: str, name: str,
        practice_name: str = "",
    ) -> dict[str, Any]:
        body = {"upload_password": upload_password, "node": node, "name": name,
                "practice_name": practice_name[:120]}
        return dict(
            self._call("POST", f"{API}/installations/{installation_id}/devices", json=body).json()
        )

    def clinic(self, practice_name: str) -> str:
        """The practice's institution code (its clinic made now if it had none)."""
        body = {"practice_name": practice_name[:120]}
        return str(self._call("POST", f"{API}/clinic", json=body).json()["institution_code"])

    # Sync -----------------------------------------------------------------------------
    def push(self, mutations: list[dict[str, Any]]) -> dict[str, Any]:
        return self.push_raw([orjson.dumps(m) for m in mutations])

    def push_raw(self, mutations: list[bytes]) -> dict[str, Any]:
        """Push mutations given as their JSON text (as the outbox keeps them)."""
        body = b'{"mutations":[' + b",".join(mutations) + b"]}"
        headers = {"Content-Type": "application/json"}
        # Only the results that say more than "applied as sent" (the stamps a clock
        # running ahead had clamped): a cloud of an earlier release sends them all.
        response = self._call("POST", f"{API}/push", data=body, extra_headers=headers,
                              params={"notable": "true"})
        # Each answer says again whether the cloud takes the shared form: one of an
        # earlier release (a restored server) is sent every stamp again.
        self.shared_hlc = response.headers.get(SHARED_HLC_HEADER) == SHARED_HLC
        return dict(orjson.loads(response.content))

    def pull(self, after: int, limit: int = 500,
             conflicts_after: int | None = None) -> dict[str, Any]:
        """A page of changes; with `conflicts_after`, the last page (`more` false) of a
        cloud that offers it carries `conflict_list`, as `conflicts` gives it. A creation
        comes in its compact form (app.core.compact) from a cloud that has it; an earlier
        one ignores the ask and sends every change field by field."""
        params: dict[str, Any] = {"after": after, "limit": limit, "exclude_own": "true",
                                  "compact": "true"}
        if conflicts_after is not None:
            params["conflicts_after"] = conflicts_after
        return dict(orjson.loads(self._call("GET", f"{API}/changes", params=params).content))

    def conflicts(self, after: int, limit: int = 200) -> dict[str, Any]:
        params = {"after": after, "limit": limit, "include_resolved": "true"}
        return dict(self._call("GET", f"{API}/conflicts", params=params).json())

    def decide_conflicts(self, decisions: list[dict[str, str]]) -> int:
        """Send decisions ({"key", "resolution"}) made here; returns how many settled."""
        body = {"decisions": decisions}
        return int(self._call("POST", f"{API}/conflicts/decisions", json=body).json()["settled"])

    def reconcile_summary(self) -> dict[str, Any]:
        return dict(self._call("GET", f"{API}/reconcile").json())

    def reconcile_range(self, entity: str, start: str, end: str, items: bool) -> dict[str, Any]:
        params = {"start": start, "end": end, "items": "true" if items else "false"}
        return dict(self._call("GET", f"{API}/reconcile/{entity}", params=params).json())

    def record(self, entity_id: str) -> dict[str, Any] | None:
        try:
            return dict(self._call("GET", f"{API}/records/{entity_id}").json())
        except RejectedError as exc:
            if exc.status == 404:
                return None
            raise

    # Upload password (installation) ----------------------------------------------------
    def resend_upload_password(self, installation_id: str) -> str:
        """The server mails a new upload password; returns the masked address."""
        path = f"{API}/installations/{installation_id}/password/resend"
        return str(self._call("POST", path).json()["sent_to"])

    def change_upload_password(self, installation_id: str, current: str, new: str) -> None:
        body = {"current_password": current, "new_password": new}
        self._call("POST", f"{API}/installations/{installation_id}/password", json=body)

    # Portal: passwords, accounts, shares (device token) ---------------------------------
    def devices(self) -> list[dict[str, Any]]:
        """The practice's PCs: device_id, node, name, created_at, revoked_at."""
        return list(self._call("GET", f"{API}/devices").json())

    def server_settings(self) -> dict[str, Any]:
        return dict(self._call("GET", f"{API}/server/settings").json())

    def set_server_switches(self, **switches: bool) -> dict[str, Any]:
        return dict(self._call("PATCH", f"{API}/server/settings", json=switches).json())

    def set_portal_password(self, kind: str, password: str) -> None:
        """kind: "login", "admin" or "general"."""
        self._call("PUT", f"{API}/server/passwords/{kind}", json={"password": password})

    def accounts(self) -> list[dict[str, Any]]:
        return list(self._call("GET", f"{API}/server/accounts").json())

    def create_account(
        self, name: str, password: str | None, expires_at: str | None
    ) -> dict[str, Any]:
        body = {"name": name, "password": password, "expires_at": expires_at}
        return dict(self._call("POST", f"{API}/server/accounts", json=body).json())

    def delete_account(self, account_id: str) -> None:
        self._call("DELETE", f"{API}/server/accounts/{account_id}")

    def set_account_password(self, account_id: str, password: str) -> None:
        path = f"{API}/server/accounts/{account_id}/password"
        self._call("PUT", path, json={"password": password})

    def set_account_expiry(self, account_id: str, expires_at: str | None) -> dict[str, Any]:
        path = f"{API}/server/accounts/{account_id}/expiry"
        return dict(self._call("PUT", path, json={"expires_at": expires_at}).json())

    def account_setup_link(self, account_id: str, email: str | None) -> str:
        path = f"{API}/server/accounts/{account_id}/setup-link"
        return str(self._call("POST", path, json={"email": email}).json()["link"])

    def set_shares(
        self, account_id: str, whole_database: bool, patient_ids: list[str]
    ) -> dict[str, Any]:
        body = {"whole_database": whole_database, "patient_ids": patient_ids}
        path = f"{API}/server/accounts/{account_id}/shares"
        return dict(self._call("PUT", path, json=body).json())

    def set_patient_password(self, patient_id: str, password: str | None) -> None:
        path = f"{API}/server/patients/{patient_id}/password"
        self._call("PUT", path, json={"password": password})

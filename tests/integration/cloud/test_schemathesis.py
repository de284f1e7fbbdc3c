"""Property-based requests against the served OpenAPI document: no server errors."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.integration.cloud.conftest import Server, start_server, stop_server
from tests.unit.cloud.support import PC, register_pc, register_practice

_state: dict[str, PC] = {}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("st") / "data", {"DATABASE_URL": "",
                                                                 "CHAIRSIDE_CLOUD_API_DOCS": "1"})
    with httpx.Client(base_url=srv.url) as http:
        _state["pc"] = register_pc(http, *register_practice(http, srv.mail_dir))
    yield srv
    stop_server(srv)


def test_no_server_errors(live: Server) -> None:
    """Every operation, a bounded number of generated requests each (with a valid device
    token, so that the sync endpoints are reached, not only the 401)."""
    api = schemathesis.openapi.from_url(live.url + "/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 12
    for operation in operations:

        @settings(max_examples=25, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=_state["pc"].headers,
                                   checks=[not_a_server_error], timeout=30)

        check()

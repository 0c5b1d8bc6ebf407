"""The OpenAPI document in the repository is the one served, and a fuzzer
driven by it finds no server error."""

from __future__ import annotations

import json

import httpx
import pytest

from center.app import OPENAPI_FILE
from tests.center.conftest import STUDENT, upload


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_repository_document_equals_served_one(center):
    served = httpx.get(center.url + "/openapi.json").json()
    kept = json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))
    assert served == kept, "center/openapi.json is stale: run `kiosk center openapi --write`"
    paths = set(kept["paths"])
    for path in (
        "/api/v1/identify",
        "/api/v1/photos",
        "/api/v1/orders/status",
        "/api/v1/orders/withdraw",
        "/api/v1/reprints",
        "/api/v1/reprints/printed",
        "/api/v1/email",
        "/api/v1/download-link",
        "/api/v1/heartbeat",
        "/api/v1/keys",
        "/healthz",
        "/d/{token}",
    ):
        assert path in paths
    assert not any(p.startswith("/console") for p in paths)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_fuzzer_finds_no_server_error(center, photo):
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    # some state worth poking at: a pending order
    assert upload(center.client(), STUDENT["code"], photo, "k-fuzz-seed").status_code == 201
    schema = schemathesis.openapi.from_dict(json.loads(OPENAPI_FILE.read_text(encoding="utf-8")))
    auth = {"Authorization": f"Bearer {center.token}"}
    failures: list[str] = []
    seen = 0

    def fuzz(operation) -> None:  # noqa: ANN001 - schemathesis APIOperation
        @settings(
            max_examples=8,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def poke(case) -> None:  # noqa: ANN001
            response = case.call(base_url=center.url, headers=auth, timeout=10)
            if response.status_code >= 500:
                failures.append(f"{operation.label}: {response.status_code} {response.text[:200]}")
            if response.status_code >= 400 and not response.text.startswith("<!doctype"):
                body = json.loads(response.text)
                assert set(body) == {"error"}, (response.status_code, response.text[:300])
                assert {"code", "zh", "en"} <= set(body["error"])

        poke()

    for result in schema.get_all_operations():
        fuzz(result.ok())
        seen += 1
    assert seen >= 12
    assert not failures, failures

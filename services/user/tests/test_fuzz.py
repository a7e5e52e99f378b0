"""The API against its own OpenAPI document, fuzzed by schemathesis with every check.

Schemathesis generates requests for each operation (valid and invalid ones) and sends them
to the real service (the console script, uvicorn on 127.0.0.1) with the packaged users: no
answer may be a server error, every answer must match the documented schema and status
codes. The seed is fixed, so a failure reproduces.
"""

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis

from acme_user_service.app import create_app
from acme_user_service.settings import Settings
from acme_web.testing import ConsoleScript, Served

# 100 requests per operation (5 operations): a few seconds for the whole document.
MAX_EXAMPLES = 100
SEED = 2024

# The document comes from the code at collection time (schemathesis makes one test per
# operation from it); `test_the_served_document_is_the_fuzzed_one` ties it to the server.
DOCUMENT: dict[str, Any] = create_app(Settings.from_env({})).openapi_schema.to_schema()
schema = schemathesis.openapi.from_dict(DOCUMENT)


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    script = ConsoleScript("user-service", startup_timeout=30.0, stop_timeout=20.0)
    with script.serve({}) as (server, _):
        yield server


def test_the_served_document_is_the_fuzzed_one(served: Served) -> None:
    assert httpx.get(f"{served.base_url}/schema/openapi.json", timeout=10).json() == DOCUMENT


# The JUnit name above needs pytest's record_xml_attribute: experimental, and outside the
# xunit2 schema (the pipeline's reader does not validate against it).
@pytest.mark.filterwarnings("ignore:record_xml_attribute")
@schema.parametrize()
@hypothesis.seed(SEED)
@hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_api_conforms_to_its_openapi_document(
    case: schemathesis.Case[Any], served: Served, record_xml_attribute: Callable[[str, str], None]
) -> None:
    # Schemathesis gives every operation's test the same node id; a name of its own in the
    # JUnit report keeps the pipeline from reading six operations as one test's reruns.
    record_xml_attribute(
        "name", f"test_api_conforms_to_its_openapi_document[{case.operation.label}]"
    )
    case.call_and_validate(base_url=served.base_url)

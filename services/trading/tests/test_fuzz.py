"""The API against its own OpenAPI document, fuzzed by schemathesis with every check.

Schemathesis generates requests for each operation (valid and invalid ones) and sends them
to the real service (the console script, uvicorn on 127.0.0.1) on a private copy of the
packaged store: no answer may be a server error, every answer must match the documented
schema and status codes, and documented-invalid input must be refused. The seed is
fixed, so a failure reproduces.
"""

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import hypothesis
import pytest
import schemathesis

from acme_trading_service.app import create_app
from acme_trading_service.settings import Settings, packaged_stocks_path
from acme_web.testing import ConsoleScript, Served

# 100 requests per operation (6 operations): about 12 s here for the whole document.
MAX_EXAMPLES = 100
SEED = 2024


def document() -> dict[str, object]:
    # The document comes from the code at collection time (schemathesis makes one test per
    # operation from it); `test_the_served_document_is_the_fuzzed_one` ties it to the server.
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "stocks.json"
        shutil.copyfile(packaged_stocks_path(), path)
        app = create_app(Settings(data_path=path))
        schema: dict[str, object] = app.openapi_schema.to_schema()
        anyio.run(app.state.store.close)
    return schema


DOCUMENT = document()
schema = schemathesis.openapi.from_dict(DOCUMENT)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    path = tmp_path_factory.mktemp("fuzz") / "stocks.json"
    shutil.copyfile(packaged_stocks_path(), path)
    script = ConsoleScript("trading-service", startup_timeout=60.0, stop_timeout=30.0)
    with script.serve({"STOCKS_DATA_PATH": str(path)}) as (server, _):
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

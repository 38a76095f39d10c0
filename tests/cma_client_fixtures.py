"""A live dispatcher for DatoCMS's own JavaScript client (tests/reference/test_cma_client.py).

`running_site(db)`: one `webhooks-dispatcher serve` process on `db` (a `Cluster` of one,
from tests/reference/test_cluster.py), a mock receiver, and a webhook that sends the
receiver every event. `LiveSite.node(script, **inputs)` runs `node
tests/cma_client/<script>` with the dispatcher's URL and token in DATOCMS_BASE_URL and
DATOCMS_API_TOKEN and the inputs as JSON in CMA_INPUT, and returns the JSON the script
printed; a script that fails fails the test with what it wrote on stderr (every request
the client made, with its status, then the client's error). `LiveSite.events(...)`
waits for the events a step raised.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from receiver import MockReceiver
from reference.matrix import MATRIX
from tests.reference.factories import webhook_attributes
from tests.reference.test_cluster import TOKEN, Cluster

__all__ = ["CLIENT_DIR", "LiveSite", "kinds", "running_site"]

#: The npm project of the client (package.json pins it, package-lock.json locks it).
CLIENT_DIR = Path(__file__).resolve().parent / "cma_client"
CLIENT_PACKAGE = "@datocms/cma-client-node"
CLIENT_VERSION = "5.5.3"
INSTALL = "npm ci --prefix tests/cma_client"

#: Where the receiver gets every event; cache-tag invalidations (which come up to a
#: second after the change, one per window) are left out: no client method raises them.
EVENTS_PATH = "/events"
EVENTS = [
    {"entity_type": entity, "event_types": list(rule.event_types)}
    for entity, rule in MATRIX.items()
    if entity != "cda_cache_tags"
]

Kind = tuple[str, str]


class LiveSite:
    def __init__(self, base_url: str, token: str, receiver: MockReceiver) -> None:
        self.base_url = base_url
        self.token = token
        self.receiver = receiver

    def node(self, script: str, **inputs: Any) -> Any:
        """Run tests/cma_client/`script` and return what it printed (JSON)."""
        env = {
            **os.environ,
            "DATOCMS_BASE_URL": self.base_url,
            "DATOCMS_API_TOKEN": self.token,
            "CMA_INPUT": json.dumps(inputs),
        }
        command = [_node(), str(CLIENT_DIR / script)]
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=90)
        except subprocess.TimeoutExpired as exc:
            pytest.fail(
                f"node {script} did not finish in 90 s; stderr:\n{_text(exc.stderr)}",
                pytrace=False,
            )
        if done.returncode != 0:
            pytest.fail(
                f"node {script} exited with {done.returncode}; stderr:\n{done.stderr}"
                + (f"\nstdout:\n{done.stdout}" if done.stdout.strip() else ""),
                pytrace=False,
            )
        lines = done.stdout.strip().splitlines()
        assert lines, f"node {script} printed nothing; stderr:\n{done.stderr}"
        return json.loads(lines[-1])

    def url(self, path: str) -> str:
        """A URL of the mock receiver (answers 200)."""
        return self.receiver.url_for(path)

    def received(self, path: str) -> list[dict[str, Any]]:
        """The JSON bodies the receiver got at `path`, in order."""
        return [json.loads(r.body) for r in self.receiver.requests(path=path)]

    def events(
        self, expected: Collection[Kind], *, ids: Collection[str], timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """The event bodies about the entities `ids` (of the entity types in `expected`),
        once every (entity_type, event_type) of `expected` has come, and a moment later
        (so that an extra one would show); what came, if they have not all come in time."""
        wanted = Counter(expected)
        types = {entity_type for entity_type, _ in wanted}
        names = {str(i) for i in ids}

        def mine() -> list[dict[str, Any]]:
            return [
                body
                for body in self.received(EVENTS_PATH)
                if body["entity_type"] in types and str(body["entity"].get("id")) in names
            ]

        give_up = time.monotonic() + timeout
        while time.monotonic() < give_up:
            if Counter(kinds(mine())) >= wanted:
                time.sleep(0.3)
                break
            time.sleep(0.05)
        return mine()


def kinds(bodies: list[dict[str, Any]]) -> list[Kind]:
    """The (entity_type, event_type) of each event body, sorted."""
    return sorted((b["entity_type"], b["event_type"]) for b in bodies)


def _node() -> str:
    """Node's path, once the client is known to be installed; else the test fails."""
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            f"node is not on PATH: apt-get install nodejs npm, then {INSTALL}"
            " (`nox -s tests` does both)",
            pytrace=False,
        )
    manifest = CLIENT_DIR / "node_modules" / CLIENT_PACKAGE / "package.json"
    if not manifest.is_file():
        pytest.fail(
            f"{CLIENT_PACKAGE} is not installed in tests/cma_client: {INSTALL}", pytrace=False
        )
    version = json.loads(manifest.read_text(encoding="utf-8")).get("version")
    if version != CLIENT_VERSION:
        pytest.fail(
            f"tests/cma_client has {CLIENT_PACKAGE} {version}, not {CLIENT_VERSION}: {INSTALL}",
            pytrace=False,
        )
    return node


def _text(output: str | bytes | None) -> str:
    if isinstance(output, bytes):
        return output.decode("utf-8", "replace")
    return output or ""


@contextmanager
def running_site(db: str, files_dir: str) -> Iterator[LiveSite]:
    """A mock receiver, a dispatcher on `db`, and a webhook that sends the receiver every
    event; stopped on the way out."""
    with MockReceiver() as receiver:
        cluster = Cluster(db, 1, options=["--files-dir", files_dir])
        try:
            (api,) = cluster.apis
            attributes = webhook_attributes(
                name="Everything", url=receiver.url_for(EVENTS_PATH), events=EVENTS
            )
            response = api.post(
                "/webhooks", json={"data": {"type": "webhook", "attributes": attributes}}
            )
            assert response.status_code == 201, response.text
            yield LiveSite(str(api.base_url).rstrip("/"), TOKEN, receiver)
        finally:
            cluster.close()

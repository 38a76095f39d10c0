from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from receiver.behaviours import Behaviour
from receiver.exceptions import ScriptError
from receiver.scripts import Route, ScriptBook, Step, load_script, parse_route, parse_routes


def _route(*times: int, path: str = "/hook", method: str = "*") -> Route:
    steps = tuple(Step(Behaviour(status=200 + index), count) for index, count in enumerate(times))
    return Route(path, method, steps)


@given(st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=5))
def test_each_step_plays_its_times_then_the_last_repeats(times: list[int]) -> None:
    route = _route(*times)
    expected = [index for index, count in enumerate(times[:-1]) for _ in range(count)]
    served = len(expected) + 7
    expected += [len(times) - 1] * (served - len(expected))
    assert [route.step_index(n) for n in range(served)] == expected


def test_fail_twice_then_succeed() -> None:
    book = ScriptBook([parse_route({"path": "/hook", "steps": [{"status": 500, "times": 2}, {}]})])
    statuses = []
    for _ in range(4):
        picked = book.next("POST", "/hook")
        assert picked is not None
        statuses.append(picked[0].status)
    assert statuses == [500, 500, 200, 200]
    assert book.next("POST", "/other") is None


def test_a_method_route_beats_the_any_method_route() -> None:
    book = ScriptBook([_route(1, method="*"), _route(1, 1, method="POST")])
    post, get = book.next("POST", "/hook"), book.next("GET", "/hook")
    assert post is not None and get is not None
    assert (post[1], get[1]) == (0, 0)
    post = book.next("POST", "/hook")
    assert post is not None and post[1] == 1


def test_the_step_counter_is_atomic_under_threads() -> None:
    book = ScriptBook([_route(300, 1)])
    seen: list[int] = []
    lock = threading.Lock()

    def hammer() -> None:
        for _ in range(100):
            picked = book.next("POST", "/hook")
            assert picked is not None
            with lock:
                seen.append(picked[1])

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen.count(0) == 300
    assert seen.count(1) == 500


def test_setting_a_route_again_restarts_its_counter() -> None:
    book = ScriptBook([_route(1, 1)])
    book.next("POST", "/hook")
    book.set(_route(1, 1))
    picked = book.next("POST", "/hook")
    assert picked is not None and picked[1] == 0
    assert book.remove("/hook")
    assert not book.remove("/hook")


def test_a_script_beats_the_query_string() -> None:
    book = ScriptBook([_route(1)])
    assert book.behaviour_for("POST", "/hook", "status=503") == (Behaviour(status=200), 0)
    assert book.behaviour_for("POST", "/free", "status=503") == (Behaviour(status=503), None)


def test_routes_echo_their_steps_as_given() -> None:
    steps = [{"status": 500, "times": 2}, {"status": 200}]
    book = ScriptBook([parse_route({"path": "/hook", "method": "post", "steps": steps})])
    book.next("POST", "/hook")
    assert book.to_json() == [{"path": "/hook", "method": "POST", "steps": steps, "served": 1}]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"path": "hook", "steps": [{}]}, "path"),
        ({"path": "/_receiver/requests", "steps": [{}]}, "path"),
        ({"path": "/hook", "method": "GET POST", "steps": [{}]}, "method"),
        ({"path": "/hook", "steps": []}, "steps"),
        ({"path": "/hook", "steps": [{"status": 500, "times": 0}]}, "steps[0].times"),
        ({"path": "/hook", "steps": [{}, {"status": "many"}]}, "steps[1].status"),
        ({"path": "/hook", "steps": [{}], "extra": 1}, "extra"),
        ([], ""),
    ],
)
def test_bad_routes_name_the_field(data: object, field: str) -> None:
    with pytest.raises(ScriptError) as caught:
        parse_route(data)
    assert caught.value.field == field


def test_routes_document_shape() -> None:
    with pytest.raises(ScriptError, match="routes"):
        parse_routes([{"path": "/hook", "steps": [{}]}])
    with pytest.raises(ScriptError) as caught:
        parse_routes({"routes": [{"path": "/a", "steps": [{}]}, {"path": "b", "steps": [{}]}]})
    assert caught.value.field == "routes[1].path"


SCRIPT_YAML = """\
routes:
  - path: /hook
    method: POST
    steps:
      - {status: 500, times: 2}
      - status: 200
        headers: {X-Ok: "yes"}
"""


def test_load_script_from_yaml_and_json(tmp_path: Path) -> None:
    yaml_file = tmp_path / "script.yaml"
    yaml_file.write_text(SCRIPT_YAML)
    json_file = tmp_path / "script.json"
    json_file.write_text(
        json.dumps({"routes": [{"path": "/hook", "method": "POST", "steps": [{"status": 500}]}]})
    )
    [from_yaml] = load_script(yaml_file)
    [from_json] = load_script(json_file)
    assert from_yaml.method == from_json.method == "POST"
    assert [step.times for step in from_yaml.steps] == [2, 1]
    assert from_yaml.steps[1].behaviour.headers == (("X-Ok", "yes"),)


def test_load_script_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("routes: [{path: /x, steps: [{status: 1000}]}]")
    with pytest.raises(ScriptError, match=r"bad\.yaml") as caught:
        load_script(bad)
    assert caught.value.field == "routes[0].steps[0].status"
    with pytest.raises(ScriptError, match="cannot read"):
        load_script(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ScriptError, match="cannot read"):
        load_script(broken)

"""Every route of the app × every kind of caller → the status class it must get, over real HTTP.

Callers: no key, a bad key, the strategy, operator and admin keys of tenant ``bank-a`` (which owns every
resource the requests name), and the admin of tenant ``bank-b``. The routes are read from the app
itself: a route added without a row here fails :func:`test_every_route_has_a_row`.

Classes: ``2xx``, ``3xx`` (a redirect), or an exact 401 (no/bad key), 403 (role), 404 (another
tenant's resource, indistinguishable from a missing one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import MINIMAL_FLOW
from tests.security.tenants import YAML, Tenant, light_console, make_tenants
from tests.service.helpers import ALL_DAY, Server, http_client, run_server
from waihu.service.settings import Settings

CALLERS = ("none", "bad", "strategy", "operator", "admin", "other_admin")
BAD_KEY = "whk_0000000000000000.not-a-secret"
A_FLOW = MINIMAL_FLOW.replace("id: mini", "id: a-only")
FLOW_TESTS = (
    "flow: mini.yaml\ncases:\n  - name: yes\n    turns:\n      - say: 好的\n        expect: {node: done}\n"
)
Expect = dict[str, int | str]
Request = dict[str, Any]


def everyone(status: int | str) -> Expect:
    """The same answer for every caller (public routes)."""
    return dict.fromkeys(CALLERS, status)


def keyed(
    strategy: int | str, operator: int | str, admin: int | str = "2xx", other: int | str = "2xx"
) -> Expect:
    """An authenticated route: 401 without a valid key, then per role; ``other`` is bank-b's admin."""
    return {
        "none": 401,
        "bad": 401,
        "strategy": strategy,
        "operator": operator,
        "admin": admin,
        "other_admin": other,
    }


@dataclass
class World:
    """The live server, the two tenants, and helpers making fresh resources in bank-a."""

    server: Server
    a: Tenant
    b: Tenant

    def client(self, caller: str) -> httpx.Client:
        """A client authenticated as ``caller`` (one of :data:`CALLERS`)."""
        key = {
            "none": None,
            "bad": BAD_KEY,
            "strategy": self.a.keys["strategy"],
            "operator": self.a.keys["operator"],
            "admin": self.a.keys["admin"],
            "other_admin": self.b.keys["admin"],
        }[caller]
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return http_client(self.server.base_url, headers=headers, timeout=60)

    def as_a(self, role: str) -> httpx.Client:
        """A client with bank-a's ``role`` key."""
        return self.client(role)

    def fresh_campaign(self, paused: bool = False) -> int:
        with self.as_a("strategy") as strategy:
            campaign = strategy.post(
                "/v1/campaigns", json={"name": "m", "flow_id": "mini", "windows": ALL_DAY}
            )
            assert campaign.status_code == 201, campaign.text
            if paused:
                assert strategy.post(f"/v1/campaigns/{campaign.json()['id']}/pause").status_code == 200
        return campaign.json()["id"]

    def fresh_key(self) -> str:
        with self.as_a("admin") as admin:
            return admin.post("/v1/keys", json={"name": "to revoke", "role": "strategy"}).json()["id"]

    fresh_number = 0

    def fresh_dnc(self) -> str:
        World.fresh_number += 1
        phone = f"1360000{World.fresh_number:04d}"
        with self.as_a("strategy") as strategy:
            assert strategy.post("/v1/dnc", json={"phone": phone}).status_code == 201
        return phone

    def fresh_sim(self) -> str:
        with self.as_a("operator") as operator:
            sim = operator.post("/console/api/sim", json={"flow_id": "a-only", "version": 1})
            assert sim.status_code == 201, sim.text
        return sim.json()["session_id"]


def get(url: str, **kwargs: Any) -> Callable[[World], Request]:
    return lambda _w: {"method": "GET", "url": url, **kwargs}


def post(url: str, **kwargs: Any) -> Callable[[World], Request]:
    return lambda _w: {"method": "POST", "url": url, **kwargs}


C = "{campaign}"  # filled with bank-a's campaign id
TWO_VARIANTS = {"variants": [{"name": "A"}, {"name": "B"}]}
POST_CALL = {"url": "https://1.1.1.1/sms", "rules": [{"name": "sms", "template": "{name}您好"}]}


def _contact(world: World) -> str:
    """A fresh pending contact in bank-a's campaign (to erase)."""
    World.fresh_number += 1
    reference = f"erase-{World.fresh_number}"
    row = {"reference_id": reference, "phone": f"1370000{World.fresh_number:04d}"}
    with world.as_a("strategy") as strategy:
        created = strategy.post(f"/v1/campaigns/{world.a.ids['campaign_id']}/contacts", json=[row])
        assert created.status_code in (200, 201) and created.json()["created"] == 1, created.text
    return reference


def _calendar(world: World) -> str:
    """A fresh holiday calendar of bank-a."""
    World.fresh_number += 1
    name = f"cal-{World.fresh_number}"
    with world.as_a("strategy") as strategy:
        put = strategy.put(f"/v1/holiday-calendars/{name}", json={"days": [{"date": "2026-10-01"}]})
        assert put.status_code == 200, put.text
    return name


def _split(world: World) -> int:
    """A fresh bank-a campaign with two variants."""
    campaign = world.fresh_campaign()
    with world.as_a("strategy") as strategy:
        assert strategy.put(f"/v1/campaigns/{campaign}/variants", json=TWO_VARIANTS).status_code == 200
    return campaign


T = "{attempt}"  # bank-a's finished attempt

#: (method, path template of the route) → (what each caller gets, the request to send).
ROWS: dict[tuple[str, str], tuple[Expect, Callable[[World], Request]]] = {
    # Public: documentation, health, the console's HTML shells and static files (data need a key).
    ("GET", "/openapi.json"): (everyone("2xx"), get("/openapi.json")),
    ("GET", "/docs"): (everyone("2xx"), get("/docs")),
    ("GET", "/docs/oauth2-redirect"): (everyone("2xx"), get("/docs/oauth2-redirect")),
    ("GET", "/redoc"): (everyone("2xx"), get("/redoc")),
    ("GET", "/healthz"): (everyone("2xx"), get("/healthz")),
    ("GET", "/console"): (everyone("3xx"), get("/console")),
    ("GET", "/console/"): (everyone("3xx"), get("/console/")),
    ("GET", "/console/login"): (everyone("2xx"), get("/console/login")),
    ("GET", "/console/flows"): (everyone("2xx"), get("/console/flows")),
    ("GET", "/console/flows/{flow_id}"): (everyone("2xx"), get("/console/flows/a-only")),
    ("GET", "/console/flows/{flow_id}/table"): (everyone("2xx"), get("/console/flows/a-only/table")),
    ("GET", "/console/simulator"): (everyone("2xx"), get("/console/simulator")),
    ("GET", "/console/kb"): (everyone("2xx"), get("/console/kb")),
    ("GET", "/console/inbox"): (everyone("2xx"), get("/console/inbox")),
    ("GET", "/console/campaigns"): (everyone("2xx"), get("/console/campaigns")),
    ("GET", "/console/campaigns/{campaign_id}"): (everyone("2xx"), get(f"/console/campaigns/{C}")),
    ("GET", "/console/campaigns/{campaign_id}/ab"): (everyone("2xx"), get(f"/console/campaigns/{C}/ab")),
    ("GET", "/console/calls/{attempt_id}"): (everyone("2xx"), get(f"/console/calls/{T}")),
    ("GET", "/console/screen"): (everyone("2xx"), get("/console/screen")),
    ("GET", "/console/dnc"): (everyone("2xx"), get("/console/dnc")),
    ("GET", "/console/seats"): (everyone("2xx"), get("/console/seats")),
    ("GET", "/console/keys"): (everyone("2xx"), get("/console/keys")),
    ("GET", "/console/audit"): (everyone("2xx"), get("/console/audit")),
    ("MOUNT", "/console/static"): (everyone("2xx"), get("/console/static/console.css")),
    # Metrics: any key (of the caller's tenant), or public by setting.
    ("GET", "/metrics"): (keyed("2xx", "2xx"), get("/metrics")),
    # Campaigns, contacts, results: strategy (and admin) of the owning tenant.
    ("POST", "/v1/campaigns"): (
        keyed("2xx", 403),
        post("/v1/campaigns", json={"name": "m", "flow_id": "mini", "windows": ALL_DAY}),
    ),
    ("GET", "/v1/campaigns"): (keyed("2xx", 403), get("/v1/campaigns")),
    ("GET", "/v1/campaigns/{campaign_id}"): (keyed("2xx", 403, other=404), get(f"/v1/campaigns/{C}")),
    ("GET", "/v1/campaigns/{campaign_id}/counters"): (
        keyed("2xx", 403, other=404),
        get(f"/v1/campaigns/{C}/counters"),
    ),
    ("POST", "/v1/campaigns/{campaign_id}/pause"): (
        keyed("2xx", 403, other=404),
        lambda w: {"method": "POST", "url": f"/v1/campaigns/{w.fresh_campaign()}/pause"},
    ),
    ("POST", "/v1/campaigns/{campaign_id}/resume"): (
        keyed("2xx", 403, other=404),
        lambda w: {"method": "POST", "url": f"/v1/campaigns/{w.fresh_campaign(paused=True)}/resume"},
    ),
    ("POST", "/v1/campaigns/{campaign_id}/cancel"): (
        keyed("2xx", 403, other=404),
        lambda w: {"method": "POST", "url": f"/v1/campaigns/{w.fresh_campaign()}/cancel"},
    ),
    ("POST", "/v1/campaigns/{campaign_id}/contacts"): (
        keyed("2xx", 403, other=404),
        post(f"/v1/campaigns/{C}/contacts", json=[{"reference_id": "m1", "phone": "13800009876"}]),
    ),
    ("GET", "/v1/campaigns/{campaign_id}/contacts"): (
        keyed("2xx", 403, other=404),
        get(f"/v1/campaigns/{C}/contacts"),
    ),
    ("GET", "/v1/campaigns/{campaign_id}/contacts/{reference_id}"): (
        keyed("2xx", 403, other=404),
        get(f"/v1/campaigns/{C}/contacts/c1"),
    ),
    ("POST", "/v1/campaigns/{campaign_id}/contacts/{reference_id}/grade"): (
        keyed("2xx", 403, other=404),
        post(f"/v1/campaigns/{C}/contacts/c1/grade", json={"grade": "B"}),
    ),
    ("GET", "/v1/results"): (keyed("2xx", 403), get("/v1/results")),
    ("GET", "/v1/results/{attempt_id}"): (keyed("2xx", 403, other=404), get(f"/v1/results/{T}")),
    # Exports: like results, operators too (numbers masked); another tenant's admin exports its own.
    ("GET", "/v1/exports/results.csv"): (keyed("2xx", "2xx"), get("/v1/exports/results.csv")),
    ("GET", "/v1/exports/results.jsonl"): (keyed("2xx", "2xx"), get("/v1/exports/results.jsonl")),
    # A/B split: strategy and operators (operators shift weights mid-campaign).
    ("GET", "/v1/campaigns/{campaign_id}/variants"): (
        keyed("2xx", "2xx", other=404),
        get(f"/v1/campaigns/{C}/variants"),
    ),
    ("PUT", "/v1/campaigns/{campaign_id}/variants"): (
        keyed("2xx", "2xx", other=404),
        lambda w: {
            "method": "PUT",
            "url": f"/v1/campaigns/{w.fresh_campaign()}/variants",
            "json": TWO_VARIANTS,
        },
    ),
    ("PATCH", "/v1/campaigns/{campaign_id}/variants"): (
        keyed("2xx", "2xx", other=404),
        lambda w: {
            "method": "PATCH",
            "url": f"/v1/campaigns/{_split(w)}/variants",
            "json": {"weights": {"B": 3}},
        },
    ),
    ("GET", "/v1/campaigns/{campaign_id}/variants/comparison"): (
        keyed("2xx", "2xx", other=404),
        get(f"/v1/campaigns/{C}/variants/comparison"),
    ),
    # Post-call actions: the strategy system's endpoint, like its webhook.
    ("GET", "/v1/campaigns/{campaign_id}/post-call"): (
        keyed("2xx", 403, other=404),
        get(f"/v1/campaigns/{C}/post-call"),
    ),
    # Campaign rules (#15): PATCH, cancelling one contact, the tenant's holiday calendars.
    ("PATCH", "/v1/campaigns/{campaign_id}"): (
        keyed("2xx", 403, other=404),
        lambda w: {"method": "PATCH", "url": f"/v1/campaigns/{w.fresh_campaign()}", "json": {"priority": 5}},
    ),
    ("POST", "/v1/campaigns/{campaign_id}/contacts/{reference_id}/cancel"): (
        keyed("2xx", 403, other=404),
        lambda w: {
            "method": "POST",
            "url": f"/v1/campaigns/{w.a.ids['campaign_id']}/contacts/{_contact(w)}/cancel",
        },
    ),
    ("GET", "/v1/holiday-calendars"): (keyed("2xx", 403), get("/v1/holiday-calendars")),
    ("GET", "/v1/holiday-calendars/{name}"): (
        keyed("2xx", 403, other=404),
        lambda w: {"method": "GET", "url": f"/v1/holiday-calendars/{_calendar(w)}"},
    ),
    ("PUT", "/v1/holiday-calendars/{name}"): (
        keyed("2xx", 403),
        lambda w: {"method": "PUT", "url": "/v1/holiday-calendars/own", "json": {"days": []}},
    ),
    ("DELETE", "/v1/holiday-calendars/{name}"): (
        keyed("2xx", 403, other=404),
        lambda w: {"method": "DELETE", "url": f"/v1/holiday-calendars/{_calendar(w)}"},
    ),
    ("DELETE", "/v1/campaigns/{campaign_id}/contacts/{reference_id}"): (
        keyed("2xx", 403, other=404),
        lambda w: {
            "method": "DELETE",
            "url": f"/v1/campaigns/{w.a.ids['campaign_id']}/contacts/{_contact(w)}",
        },
    ),
    ("PUT", "/v1/campaigns/{campaign_id}/post-call"): (
        keyed("2xx", 403, other=404),
        lambda w: {
            "method": "PUT",
            "url": f"/v1/campaigns/{w.fresh_campaign()}/post-call",
            "json": POST_CALL,
        },
    ),
    ("DELETE", "/v1/campaigns/{campaign_id}/post-call"): (
        keyed("2xx", 403, other=404),
        lambda w: {"method": "DELETE", "url": f"/v1/campaigns/{w.fresh_campaign()}/post-call"},
    ),
    # The block list: every role adds and reads; removing is for admins.
    ("POST", "/v1/dnc"): (keyed("2xx", "2xx"), post("/v1/dnc", json={"phone": "13500001234"})),
    ("GET", "/v1/dnc"): (keyed("2xx", "2xx"), get("/v1/dnc")),
    ("DELETE", "/v1/dnc/{phone}"): (
        keyed(403, 403, other=404),
        lambda w: {"method": "DELETE", "url": f"/v1/dnc/{w.fresh_dnc()}"},
    ),
    # Seats: admins register; operators list and set availability.
    ("POST", "/v1/seats"): (keyed(403, 403), post("/v1/seats", json={"uri": "sip:3003@10.0.0.7"})),
    ("GET", "/v1/seats"): (keyed(403, "2xx"), get("/v1/seats")),
    ("PATCH", "/v1/seats/{seat_id}"): (
        keyed(403, "2xx", other=404),
        lambda w: {"method": "PATCH", "url": f"/v1/seats/{w.a.ids['seat_id']}", "json": {"available": True}},
    ),
    # Trunks serve every tenant: admins read their limits, only a platform admin sets them.
    ("GET", "/v1/trunks"): (keyed(403, 403), get("/v1/trunks")),
    ("GET", "/v1/trunks/{name}"): (keyed(403, 403, admin=404, other=404), get("/v1/trunks/no-such-trunk")),
    ("PUT", "/v1/trunks/{name}"): (
        keyed(403, 403, admin=403, other=403),
        lambda w: {"method": "PUT", "url": "/v1/trunks/carrier-a", "json": {"max_lines": 2}},
    ),
    # Flows: operators upload; every role reads its tenant's.
    ("POST", "/v1/flows"): (keyed(403, "2xx"), post("/v1/flows", content=MINIMAL_FLOW, headers=YAML)),
    ("GET", "/v1/flows"): (keyed("2xx", "2xx"), get("/v1/flows")),
    ("GET", "/v1/flows/{flow_id}/versions"): (
        keyed("2xx", "2xx", other=404),
        get("/v1/flows/a-only/versions"),
    ),
    ("GET", "/v1/flows/{flow_id}/versions/{version}"): (
        keyed("2xx", "2xx", other=404),
        get("/v1/flows/a-only/versions/1"),
    ),
    # a version's recordings: a key is needed; this version has none (its owner gets 404 too)
    ("GET", "/v1/flows/{flow_id}/versions/{version}/recordings/{name:path}"): (
        keyed(404, 404, admin=404, other=404),
        get("/v1/flows/a-only/versions/1/recordings/hello.wav"),
    ),
    # The learning inbox: operators (and admins) of the flow's tenant; no such items here.
    ("GET", "/v1/flows/{flow_id}/inbox"): (
        keyed(403, "2xx", other=404),
        get("/v1/flows/a-only/inbox"),
    ),
    ("POST", "/v1/flows/{flow_id}/inbox/add"): (
        keyed(403, 404, admin=404, other=404),
        post("/v1/flows/a-only/inbox/add", json={"item_ids": [2_000_000_000], "intent": "affirm"}),
    ),
    ("POST", "/v1/flows/{flow_id}/inbox/dismiss"): (
        keyed(403, 404, admin=404, other=404),
        post("/v1/flows/a-only/inbox/dismiss", json={"item_ids": [2_000_000_000]}),
    ),
    # Keys and the audit log: admins, within their tenant.
    ("POST", "/v1/keys"): (keyed(403, 403), post("/v1/keys", json={"name": "m", "role": "operator"})),
    ("GET", "/v1/keys"): (keyed(403, 403), get("/v1/keys")),
    ("DELETE", "/v1/keys/{key_id}"): (
        keyed(403, 403, other=404),
        lambda w: {"method": "DELETE", "url": f"/v1/keys/{w.fresh_key()}"},
    ),
    ("GET", "/v1/audit"): (keyed(403, 403), get("/v1/audit")),
    # Console APIs.
    ("GET", "/console/api/whoami"): (keyed("2xx", "2xx"), get("/console/api/whoami")),
    ("POST", "/console/api/flows/validate"): (
        keyed(403, "2xx"),
        post("/console/api/flows/validate", json={"yaml": MINIMAL_FLOW}),
    ),
    ("POST", "/console/api/flows/table"): (
        keyed(403, "2xx"),
        post("/console/api/flows/table", json={"yaml": MINIMAL_FLOW}),
    ),
    ("GET", "/console/api/flows/{flow_id}/tests"): (
        keyed(403, "2xx"),
        get("/console/api/flows/credit_card_installment/tests"),
    ),
    ("POST", "/console/api/flows/tests"): (
        keyed(403, "2xx"),
        post("/console/api/flows/tests", json={"flow_yaml": MINIMAL_FLOW, "tests_yaml": FLOW_TESTS}),
    ),
    ("GET", "/console/api/flows/{flow_id}/versions/{version}/info"): (
        keyed("2xx", "2xx", other=404),
        get("/console/api/flows/a-only/versions/1/info"),
    ),
    ("GET", "/console/api/flows/{flow_id}/versions/{version}/kb"): (
        keyed("2xx", "2xx", other=404),
        get("/console/api/flows/a-only/versions/1/kb"),
    ),
    ("POST", "/console/api/flows/{flow_id}/versions/{version}/kb/search"): (
        keyed("2xx", "2xx", other=404),
        post("/console/api/flows/a-only/versions/1/kb/search", json={"question": "多少钱"}),
    ),
    ("POST", "/console/api/sim"): (
        keyed(403, "2xx", other=404),
        post("/console/api/sim", json={"flow_id": "a-only", "version": 1}),
    ),
    ("POST", "/console/api/sim/{session_id}"): (
        keyed(403, "2xx", other=404),
        lambda w: {"method": "POST", "url": f"/console/api/sim/{w.fresh_sim()}", "json": {"text": "好的"}},
    ),
    ("POST", "/console/api/tts"): (keyed(403, "2xx"), post("/console/api/tts", json={"text": "您好"})),
    ("GET", "/console/api/campaigns/{campaign_id}/stats"): (
        keyed("2xx", 403, other=404),
        get(f"/console/api/campaigns/{C}/stats"),
    ),
    ("GET", "/console/api/screen"): (keyed("2xx", 403), get("/console/api/screen")),
    ("GET", "/console/api/screen/stream"): (  # max_seconds: the stream ends, so the body can be read
        keyed("2xx", 403),
        get("/console/api/screen/stream", params={"max_seconds": 1}),
    ),
    ("GET", "/console/api/attempts/{attempt_id}/recording"): (
        keyed("2xx", 403, other=404),
        get(f"/console/api/attempts/{T}/recording"),
    ),
}


def app_routes(app: Any) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves (HEAD aside), ``("MOUNT", path)`` for mounts."""
    try:
        from fastapi.routing import iter_route_contexts

        routes: list[Any] = list(iter_route_contexts(app.routes))
    except ImportError:  # older FastAPI: the routes are flat already
        routes = list(app.routes)
    found: set[tuple[str, str]] = set()
    for route in routes:
        methods = getattr(route, "methods", None)
        if methods is None:
            found.add(("MOUNT", route.path))
            continue
        found |= {(method, route.path) for method in methods if method != "HEAD"}
    return found


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A server whose bank-a owns a flow, campaign, recorded call, seat and DNC entry; bank-b has keys."""
    root = tmp_path_factory.mktemp("matrix")
    recordings = root / "recordings"
    recordings.mkdir()
    recording = recordings / "call.wav"
    with run_server(Settings(database_url=f"sqlite:///{root / 'waihu.db'}", background=False)) as server:
        light_console(server, recordings.resolve())
        recording.write_bytes(server.app.state.console.speech.wav("", "zh"))
        a, b = make_tenants(server, str(recording.resolve()))
        with server.client(a.keys["operator"]) as operator:
            assert operator.post("/v1/flows", content=A_FLOW, headers=YAML).status_code == 201
        with server.client(b.keys["operator"]) as operator:  # bank-b can create campaigns on its own mini
            assert operator.post("/v1/flows", content=MINIMAL_FLOW, headers=YAML).status_code == 201
        yield World(server, a, b)


def status_class(code: int) -> int | str:
    """``2xx``/``3xx`` for success and redirects, the exact code otherwise."""
    return f"{code // 100}xx" if code < 400 else code


def test_every_route_has_a_row(world: World) -> None:
    routes = app_routes(world.server.app)
    missing = sorted(routes - set(ROWS))
    stale = sorted(set(ROWS) - routes)
    assert missing == [], f"routes without a row in the authorization matrix: {missing}"
    assert stale == [], f"rows for routes the app no longer has: {stale}"


@pytest.mark.parametrize("route", sorted(ROWS), ids=lambda route: f"{route[0]} {route[1]}")
def test_authorization_matrix(world: World, route: tuple[str, str]) -> None:
    expected, build = ROWS[route]
    got: dict[str, int | str] = {}
    details: dict[str, str] = {}
    ids = {"campaign": world.a.ids["campaign_id"], "attempt": world.a.ids["attempt_id"]}
    for caller in CALLERS:
        request = build(world)
        request["url"] = request["url"].format(**ids)
        # Streamed: the status decides, so the big screen's event stream need not run to its end.
        with world.client(caller) as client, client.stream(**request) as response:
            got[caller] = status_class(response.status_code)
            if got[caller] != expected[caller]:
                details[caller] = f"{response.status_code} {response.read()[:200].decode(errors='replace')}"
    assert got == expected, details


def test_recording_route_serves_the_owner(world: World) -> None:
    """The recording row's 2xx is the real file, not an empty answer."""
    with world.client("strategy") as strategy:
        response = strategy.get(f"/console/api/attempts/{world.a.ids['attempt_id']}/recording")
    assert response.status_code == 200 and response.content[:4] == b"RIFF"

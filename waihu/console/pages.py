"""The console's HTML pages: server-rendered shells; each page's module fetches data with the key."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from waihu.console import i18n
from waihu.console.state import console_state

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
router = APIRouter(prefix="/console", include_in_schema=False)

#: The header's sections and the roles that see them (admins see all); labels: ``nav.<name>``.
NAV: list[tuple[str, tuple[str, ...]]] = [
    ("flows", ("operator", "strategy")),
    ("simulator", ("operator",)),
    ("kb", ("operator", "strategy")),
    ("inbox", ("operator",)),
    ("campaigns", ("strategy",)),
    ("screen", ("strategy",)),
    ("dnc", ("operator", "strategy")),
    ("seats", ("operator",)),
    ("keys", ()),
    ("audit", ()),
]
_SECTION = {"flow_editor": "flows", "answer_table": "flows", "dashboard": "campaigns", "call": "campaigns"}
_SECTION["ab"] = "campaigns"
Segment = Annotated[str, PathParam(min_length=1, max_length=64)]


def _with_lang(request: Request, code: str) -> str:
    """This page's path and query with ``lang=code`` (the header's language switch)."""
    url = request.url.include_query_params(lang=code)
    return f"{url.path}?{url.query}"


def _page(request: Request, page: str, title: str, **params: Any) -> HTMLResponse:
    lang = i18n.language_of(request)
    t = i18n.translator(lang)
    response = TEMPLATES.TemplateResponse(
        request,
        f"{page}.html",
        {
            "page": page,
            "section": _SECTION.get(page, page),
            "title": t(f"title.{page}", title, **params),  # pages without a catalogue entry keep theirs
            "nav": NAV,
            "params": params,
            "lang": lang,
            "time_zone": console_state(request).config.time_zone,  # <body data-time-zone>: static/js/time.js
            "t": t,
            "messages": i18n.catalogue(lang),
            "lang_links": [
                (code, i18n.translate(code, "lang.name"), _with_lang(request, code))
                for code in i18n.LANGUAGES
            ],
        },
    )
    if i18n.requested_language(request):  # ?lang= chooses; the cookie remembers it for the next pages
        response.set_cookie(i18n.COOKIE, lang, max_age=365 * 86400, path="/console", samesite="lax")
    return response


@router.get("")
@router.get("/")
def home() -> RedirectResponse:
    """The console opens on the flows list (which sends you to log in first)."""
    return RedirectResponse("/console/flows")


@router.get("/login", response_class=HTMLResponse)
def login(request: Request) -> HTMLResponse:
    """Log in with an API key."""
    return _page(request, "login", "Log in")


@router.get("/flows", response_class=HTMLResponse)
def flows(request: Request) -> HTMLResponse:
    """Flows and their latest versions."""
    return _page(request, "flows", "Flows")


@router.get("/flows/{flow_id}", response_class=HTMLResponse)
def flow_editor(request: Request, flow_id: Segment) -> HTMLResponse:
    """Edit a flow's YAML with live validation; flow tests."""
    return _page(request, "flow_editor", f"Flow {flow_id}", flow_id=flow_id)


@router.get("/flows/{flow_id}/table", response_class=HTMLResponse)
def flow_table(request: Request, flow_id: Segment) -> HTMLResponse:
    """The answer table of a flow version."""
    return _page(request, "answer_table", f"Answer table · {flow_id}", flow_id=flow_id)


@router.get("/simulator", response_class=HTMLResponse)
def simulator(request: Request) -> HTMLResponse:
    """Chat with a flow."""
    return _page(request, "simulator", "Simulator")


@router.get("/kb", response_class=HTMLResponse)
def knowledge_base(request: Request) -> HTMLResponse:
    """A flow's knowledge base and a question box."""
    return _page(request, "kb", "Knowledge base")


@router.get("/inbox", response_class=HTMLResponse)
def inbox(request: Request) -> HTMLResponse:
    """The learning inbox (收件箱): what calls could not classify, grouped, to add to a flow."""
    return _page(request, "inbox", "收件箱")


@router.get("/campaigns", response_class=HTMLResponse)
def campaigns(request: Request) -> HTMLResponse:
    """Campaigns list and creation."""
    return _page(request, "campaigns", "Campaigns")


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_dashboard(request: Request, campaign_id: int) -> HTMLResponse:
    """A campaign's live dashboard."""
    return _page(request, "dashboard", f"Campaign {campaign_id}", campaign_id=campaign_id)


@router.get("/campaigns/{campaign_id}/ab", response_class=HTMLResponse)
def campaign_ab(request: Request, campaign_id: int) -> HTMLResponse:
    """A campaign's A/B comparison (AB分流对比) and weights."""
    return _page(request, "ab", f"AB分流对比 · 活动 {campaign_id}", campaign_id=campaign_id)


@router.get("/screen", response_class=HTMLResponse)
def screen(request: Request) -> HTMLResponse:
    """The big screen (大屏): live numbers across all running campaigns, pushed by server-sent events."""
    return _page(request, "screen", "大屏监控")


@router.get("/calls/{attempt_id}", response_class=HTMLResponse)
def call_detail(request: Request, attempt_id: Segment) -> HTMLResponse:
    """One call: transcript, trace, recording, grade."""
    return _page(request, "call", f"Call {attempt_id}", attempt_id=attempt_id)


@router.get("/dnc", response_class=HTMLResponse)
def dnc(request: Request) -> HTMLResponse:
    """The do-not-call list."""
    return _page(request, "dnc", "Block list")


@router.get("/seats", response_class=HTMLResponse)
def seats(request: Request) -> HTMLResponse:
    """Human seats for transfers."""
    return _page(request, "seats", "Seats")


@router.get("/keys", response_class=HTMLResponse)
def keys(request: Request) -> HTMLResponse:
    """API keys (admins only)."""
    return _page(request, "keys", "API keys")


@router.get("/audit", response_class=HTMLResponse)
def audit(request: Request) -> HTMLResponse:
    """The audit log (admins only)."""
    return _page(request, "audit", "审计日志")

"""``waihu serve``, ``waihu worker``, ``waihu keys create``, ``waihu db upgrade``."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from waihu.service.settings import DEFAULT_DATABASE_URL

console = Console(stderr=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
db_app = typer.Typer(help="Database.", no_args_is_help=True)

DbOption = Annotated[
    str,
    typer.Option(
        "--db", envvar="WAIHU_DATABASE_URL", help="SQLAlchemy URL (sqlite:///… or postgresql+psycopg://…)."
    ),
]


def serve(
    db: DbOption = DEFAULT_DATABASE_URL,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Run the API (OpenAPI at /docs) with the webhook sender and the recovery of dead workers' calls.

    Other settings come from the environment (``Settings.from_env``): ``WAIHU_WEBHOOK_ALLOW``,
    ``WAIHU_WEBHOOK_ALLOW_HTTP``, ``WAIHU_METRICS_PUBLIC``, ``WAIHU_DEFAULT_REGION``.
    """
    import dataclasses

    import uvicorn

    from waihu.server import create_app
    from waihu.service.settings import Settings

    app = create_app(dataclasses.replace(Settings.from_env(), database_url=db, background=True))
    uvicorn.run(app, host=host, port=port, log_level="info")


def worker(
    db: DbOption = DEFAULT_DATABASE_URL,
    worker_id: Annotated[str | None, typer.Option(help="Unique name (default: host-pid).")] = None,
    trunk: Annotated[
        str | None,
        typer.Option(
            help="SIP URI template with {number} (default: the config's uri, else local port 5070)."
        ),
    ] = None,
    routes: Annotated[
        Path | None, typer.Option(help="YAML mapping number → SIP URI (checked before the trunk).")
    ] = None,
    sip_port: Annotated[int, typer.Option(help="Local SIP port (one per worker).")] = 5080,
    rtp_port: Annotated[int, typer.Option(help="First RTP port (one range per worker).")] = 41000,
    bind: Annotated[str, typer.Option(help="Local address.")] = "127.0.0.1",
    max_calls: Annotated[int, typer.Option(min=1, max=4, help="Concurrent calls (pjsua2 allows 4).")] = 4,
    metrics_port: Annotated[
        int, typer.Option(min=0, max=65535, help="Serve this worker's Prometheus metrics here (0: off).")
    ] = 0,
    lease_s: Annotated[
        int, typer.Option(min=5, help="Seconds before a silent worker's calls are recovered.")
    ] = 60,
    ring_timeout: Annotated[float, typer.Option(help="Seconds of ringing before giving up.")] = 30.0,
    seat: Annotated[
        str | None, typer.Option(help="Seat URI when no seat is registered in the database.")
    ] = None,
    record: Annotated[Path | None, typer.Option(help="Directory for call recordings.")] = None,
    transfer_mode: Annotated[
        str, typer.Option(help="bridged (keeps one line free for the seat's leg) or blind (REFER).")
    ] = "bridged",
    speech_url: Annotated[
        str | None,
        typer.Option(
            envvar="WAIHU_SPEECH_URL",
            help="Speech service (waihu speech serve) to use instead of loading the models here.",
        ),
    ] = None,
    classifier: Annotated[
        str, typer.Option(help="NLU: default (rules + e5 model), rules, or model.")
    ] = "default",
    sip_config: Annotated[
        Path | None,
        typer.Option(help="Trunk settings file (TOML or YAML; see README, 'Workers on a trunk')."),
    ] = None,
    registrar: Annotated[str | None, typer.Option(help="Register with this registrar URI.")] = None,
    sip_user: Annotated[str | None, typer.Option(help="Digest username for the registrar.")] = None,
    sip_password_file: Annotated[
        Path | None,
        typer.Option(help="File holding the digest password (default: env WAIHU_SIP_PASSWORD)."),
    ] = None,
    sip_realm: Annotated[str | None, typer.Option(help="Digest realm (default: any).")] = None,
    outbound_proxy: Annotated[
        str | None, typer.Option(help="Outbound proxy URI for every request, e.g. sip:sbc.example.com;lr.")
    ] = None,
    public_address: Annotated[
        str | None, typer.Option(help="Address written in Contact/Via/SDP (NAT); --bind stays the local one.")
    ] = None,
    transport: Annotated[str | None, typer.Option(help="udp or tcp (default: udp).")] = None,
    caller_id: Annotated[
        str | None,
        typer.Option(help="Caller number when the campaign has none (default: the AOR, else waihu)."),
    ] = None,
    display_name: Annotated[str | None, typer.Option(help="Caller name shown with the number.")] = None,
    status_file: Annotated[
        Path | None, typer.Option(help="JSON status for the operator (registration state), kept current.")
    ] = None,
    trunk_name: Annotated[
        str | None,
        typer.Option(help="The trunk's name: its workers share its line cap and CPS (in the database)."),
    ] = None,
    trunk_max_lines: Annotated[
        int | None,
        typer.Option(min=1, max=100_000, help="Calls in progress on the trunk, all its workers together."),
    ] = None,
    trunk_max_cps: Annotated[
        int | None,
        typer.Option(min=1, max=1000, help="Call starts per second on the trunk, all its workers together."),
    ] = None,
) -> None:
    """Claim due contacts, call them and record the results, until SIGTERM/SIGINT.

    Exits with status 3 when the registrar refuses the worker (or never answers) at start.
    """
    from dialog.yaml_positions import load_yaml
    from waihu.calls.registration import EXIT_REGISTRATION_FAILED, RegistrationFailed
    from waihu.calls.trunk import TrunkError, TrunkSettings, load_trunk_file
    from waihu.calls.worker import DialPlan, Worker, WorkerConfig
    from waihu.service.db import open_database

    try:
        settings = (load_trunk_file(sip_config) if sip_config else TrunkSettings()).with_overrides(
            uri=trunk, registrar=registrar, username=sip_user, password_file=sip_password_file,
            realm=sip_realm, outbound_proxy=outbound_proxy, public_address=public_address,
            transport=transport, caller_id=caller_id, display_name=display_name,
            name=trunk_name, max_lines=trunk_max_lines, max_cps=trunk_max_cps,
        )  # fmt: skip
        settings.registration()  # a missing username or password is an error now, not after start-up
    except TrunkError as exc:
        raise typer.BadParameter(str(exc), param_hint="--sip-config / trunk options") from exc
    table = {str(k): str(v) for k, v in (load_yaml(routes.read_text()) or {}).items()} if routes else {}
    config = WorkerConfig(
        worker_id=worker_id or f"{socket.gethostname()}-{os.getpid()}",
        dial_plan=DialPlan(
            trunk=settings.uri or "sip:{number}@127.0.0.1:5070",
            routes=table,
            transport=settings.dial_transport,
        ),
        default_caller_id=settings.caller_id or "waihu",
        classifier_kind=classifier,
        trunk=settings,
        status_file=status_file,
        sip_port=sip_port,
        rtp_port=rtp_port,
        bind=bind,
        max_calls=max_calls,
        metrics_port=metrics_port,
        lease_s=lease_s,
        ring_timeout_s=ring_timeout,
        seat_uri=seat,
        transfer_mode=transfer_mode,
        recordings_dir=record,
        speech_url=speech_url,
    )
    _engine, factory = open_database(db)
    if settings.name is not None and (settings.max_lines is not None or settings.max_cps is not None):
        from waihu.service.trunk_limits import upsert_trunk

        with factory() as session:  # shared by every worker on the trunk: the last one started wins
            upsert_trunk(session, settings.name, max_lines=settings.max_lines, max_cps=settings.max_cps)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await Worker(factory, config).run(stop)

    try:
        asyncio.run(main())
    except RegistrationFailed as exc:
        console.print(f"[red]error[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_REGISTRATION_FAILED) from exc


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="strategy, operator or admin.")],
    name: Annotated[str, typer.Option(help="What the key is for.")] = "cli",
    tenant: Annotated[
        str, typer.Option(help="The tenant (strategy system / business unit) the key belongs to.")
    ] = "default",
    platform_admin: Annotated[
        bool,
        typer.Option(
            "--platform-admin",
            help="An admin key that also keeps the global block list and every tenant's keys.",
        ),
    ] = False,
    db: DbOption = DEFAULT_DATABASE_URL,
) -> None:
    """Create an API key and print its secret (shown once; only its hash is stored); audited."""
    from waihu.service.apikeys import create_api_key
    from waihu.service.audit import CLI, record_change
    from waihu.service.db import open_database
    from waihu.service.tenancy import TenantError, check_tenant

    if role not in ("strategy", "operator", "admin"):
        raise typer.BadParameter("strategy, operator or admin", param_hint="--role")
    try:
        check_tenant(tenant)
    except TenantError as exc:
        raise typer.BadParameter(str(exc), param_hint="--tenant") from exc
    if platform_admin and role != "admin":
        raise typer.BadParameter("only admin keys can be platform admins", param_hint="--platform-admin")
    _engine, factory = open_database(db)
    with factory() as session:
        key, secret = create_api_key(session, name, role, tenant=tenant, platform_admin=platform_admin)
        session.flush()
        after = {"id": key.id, "name": name, "role": role, "tenant": tenant, "platform_admin": platform_admin}
        record_change(session, CLI, "key.create", "key", key.id, tenant=tenant, after=after)
        session.commit()
    print(secret)


@db_app.command("upgrade")
def db_upgrade(db: DbOption = DEFAULT_DATABASE_URL) -> None:
    """Apply the database migrations (also done by serve and worker at start)."""
    from waihu.service.db import make_engine, upgrade

    upgrade(make_engine(db))
    console.print("[green]ok[/] database at the latest migration")

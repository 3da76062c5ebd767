"""``waihu flow bundle``: pack a flow and its recordings into the zip ``POST /v1/flows`` accepts."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Annotated

import typer

from dialog.flow_files import FileReferenceError, audio_references, bundle_name
from dialog.loader import load_flow_file


def bundle(
    flow_path: Annotated[
        Path, typer.Argument(metavar="FLOW", help="Flow YAML; its audio: files lie next to it.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="The bundle to write (.zip).")],
) -> None:
    """Pack FLOW and every WAV its ``audio:`` names into a bundle, checked as the service checks it."""
    from waihu.service.bundles import BundleError, read_bundle

    loaded = load_flow_file(flow_path)
    if loaded.flow is None or loaded.errors:
        for problem in loaded.errors or loaded.problems:
            typer.echo(problem.format(), err=True)
        raise typer.Exit(1)
    members = {flow_path.name: flow_path.read_bytes()}
    for data_path, reference in audio_references(loaded.flow):
        try:
            name = bundle_name(reference)
        except FileReferenceError as exc:
            typer.echo(f"{flow_path}: {'.'.join(map(str, data_path))}: {exc}", err=True)
            raise typer.Exit(1) from exc
        if name != reference:
            typer.echo(f"{flow_path}: write {reference!r} as {name!r}: the service names it so", err=True)
            raise typer.Exit(1)
        members[name] = (flow_path.parent / reference).read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    data = buffer.getvalue()
    try:
        checked = read_bundle(data)
    except BundleError as exc:
        typer.echo(f"{flow_path}: the service would refuse this bundle: {exc}", err=True)
        raise typer.Exit(1) from exc
    out.write_bytes(data)
    typer.echo(f"{out}: {flow_path.name} and {len(checked.recordings)} recordings, {len(data)} bytes")

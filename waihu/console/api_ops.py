"""Console endpoints for daily operations: who am I, the campaign dashboard, call recordings.

Each reaches only the key's tenant's campaigns and attempts (another tenant's: 404); the dashboard's
phone numbers are masked for roles that do not see them in full.
"""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Path
from fastapi.responses import FileResponse

from waihu.console.state import ConsoleState, console_state
from waihu.console.stats import campaign_stats
from waihu.service.api.deps import AnyRole, SessionDep, Strategy
from waihu.service.api.errors import not_found
from waihu.service.api.responses import AUTH, errors
from waihu.service.api.scope import attempt_of, campaign_of
from waihu.service.masking import for_role
from waihu.service.recordings import AUDIO_TYPES, recording_file

router = APIRouter(prefix="/console/api", tags=["console"], responses=errors(*AUTH))
State = Annotated[ConsoleState, Depends(console_state)]


@router.get("/whoami", summary="The key's name, role and tenant")
def whoami(key: AnyRole) -> dict[str, Any]:
    """Lets the console show the role and hide what it may not do."""
    return {
        "id": key.id,
        "name": key.name,
        "role": key.role,
        "tenant": key.tenant,
        "platform_admin": bool(key.platform_admin),
    }


@router.get(
    "/campaigns/{campaign_id}/stats",
    summary="Everything the live dashboard shows",
    responses=errors(404, 422),
)
def stats(
    campaign_id: Annotated[int, Path(ge=1, le=2**31 - 1)], session: SessionDep, key: Strategy
) -> dict[str, Any]:
    """Counters, funnel, turn latency and the latest calls, cheap enough to poll every 2 s."""
    view = campaign_stats(session, campaign_of(session, key, campaign_id))
    view["recent"] = [for_role(call, key.role) for call in view["recent"]]
    return view


@router.get(
    "/attempts/{attempt_id}/recording",
    summary="An attempt's call recording",
    response_class=FileResponse,
    responses=cast(
        dict[int | str, dict[str, Any]],
        {
            200: {
                "content": {
                    kind: {"schema": {"type": "string", "format": "binary"}} for kind in AUDIO_TYPES.values()
                }
            }
        },
    )
    | errors(404, 422),
)
def recording(
    attempt_id: Annotated[str, Path(min_length=1, max_length=32)],
    session: SessionDep,
    state: State,
    key: Strategy,
) -> FileResponse:
    """The recording file the worker wrote, streamed with range support."""
    attempt = attempt_of(session, key, attempt_id)
    path = recording_file(attempt.recording_path, state.config.recordings_dir)
    if path is None:
        raise not_found("attempt_recording_not_found", attempt=attempt_id)
    return FileResponse(path, media_type=AUDIO_TYPES[path.suffix.lower()], filename=path.name)

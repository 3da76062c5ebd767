"""Settings of the operator console, read from the environment once when the app is built."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from waihu_env import check_time_zone, environment

REPO_FLOWS_DIR = Path(__file__).resolve().parents[2] / "flows"


@dataclass(frozen=True)
class ConsoleConfig:
    """What the console needs beyond the service settings.

    ``classifier_kind``: the NLU the simulator, flow tests and KB search use (``default`` loads the e5
    model once per process; ``rules`` needs no model). ``flows_dir``: where shipped flows and their
    ``tests/`` live. ``recordings_dir``: recordings are served only from below it; unset, none are.
    ``time_zone``: the display zone (IANA) of every time outside a campaign's own pages, which show
    their campaign's zone; the browser's zone is never used (an operator's remote desktop may be UTC).
    """

    classifier_kind: str = "default"
    flows_dir: Path = REPO_FLOWS_DIR
    recordings_dir: Path | None = None
    max_sim_sessions: int = 200
    sim_session_ttl_s: float = 3600.0
    time_zone: str = "Asia/Shanghai"

    def __post_init__(self) -> None:
        check_time_zone(self.time_zone)  # configs built in code are checked like the environment

    @classmethod
    def from_env(cls) -> ConsoleConfig:
        """``WAIHU_CONSOLE_NLU``, ``WAIHU_CONSOLE_FLOWS_DIR``, ``WAIHU_RECORDINGS_DIR``,
        ``WAIHU_TIME_ZONE``."""
        env = environment()
        return cls(
            classifier_kind=env.console_nlu,
            flows_dir=env.console_flows_dir or REPO_FLOWS_DIR,
            recordings_dir=env.recordings_dir.resolve() if env.recordings_dir else None,
            time_zone=env.time_zone,
        )

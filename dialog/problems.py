"""Problems found in a flow file, each pointing at file, line and column."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class FlowProblem:
    """One problem in a flow, printed as ``FILE:LINE:COL: message``."""

    file: str
    line: int
    col: int
    message: str
    severity: Severity = "error"

    def format(self) -> str:
        """The ``FILE:LINE:COL: message`` form editors and CI understand."""
        prefix = "" if self.severity == "error" else "warning: "
        return f"{self.file}:{self.line}:{self.col}: {prefix}{self.message}"


class FlowError(Exception):
    """Raised when a flow cannot be used; carries every problem found."""

    def __init__(self, problems: list[FlowProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(problem.format() for problem in problems))

"""Problems found in a flow file, each pointing at file, line and column."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from dialog.problem_codes import ParamValue, render_problem

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class FlowProblem:
    """One problem in a flow, printed as ``FILE:LINE:COL: message``.

    ``code`` names the problem in :data:`dialog.problem_codes.PROBLEM_CODES` and ``params`` fill its
    template; ``message`` is the English wording (build problems with :meth:`of`, which renders it).
    """

    file: str
    line: int
    col: int
    message: str
    severity: Severity = "error"
    code: str = ""
    params: dict[str, ParamValue] = field(default_factory=dict, hash=False, compare=False)

    @classmethod
    def of(
        cls,
        file: str,
        line: int,
        col: int,
        code: str,
        params: Mapping[str, ParamValue] | None = None,
        severity: Severity = "error",
    ) -> FlowProblem:
        """The problem ``code`` with ``params``, its English message rendered from the registry."""
        values = dict(params or {})
        return cls(file, line, col, render_problem(code, values), severity, code, values)

    def format(self) -> str:
        """The ``FILE:LINE:COL: message`` form editors and CI understand."""
        prefix = "" if self.severity == "error" else "warning: "
        return f"{self.file}:{self.line}:{self.col}: {prefix}{self.message}"


class FlowError(Exception):
    """Raised when a flow cannot be used; carries every problem found."""

    def __init__(self, problems: list[FlowProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(problem.format() for problem in problems))

"""Which files a flow may reference (``knowledge_base: {file: ...}``, recorded ``audio:``) and where.

A flow file on the operator's own disk may name files next to it (its directory and below). A flow that
arrived over the network (API upload, console editor) names no files at all: the server would otherwise
resolve attacker-chosen paths on its own disk, tell whether they exist and serve their contents back.
The one exception is a **bundle** (the flow YAML uploaded together with its recordings): its ``audio:``
references are *names* in the bundle (see :func:`bundle_name`), checked against the names it carries and
never looked up on a disk.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from dialog.problem_codes import FILE_MESSAGES, ParamValue
from dialog.schema import Flow
from dialog.yaml_positions import Path as YamlPath
from waihu_env import environment

#: Environment switch for the command line: ``1`` lets local flows name files outside their directory.
ALLOW_OUTSIDE_ENV = "WAIHU_FLOW_ALLOW_OUTSIDE_FILES"


class FileReferenceError(ValueError):
    """A file reference the policy refuses; the message says why (no file system details).

    ``code`` and ``params`` name the refusal in :data:`dialog.problem_codes.FILE_MESSAGES` (build it with
    :meth:`of`); one built from a bare message gets the generic ``file_reference_refused``.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.code = "file_reference_refused"
        self.params: dict[str, ParamValue] = {"reason": message}

    @classmethod
    def of(cls, code: str, **params: ParamValue) -> FileReferenceError:
        """The refusal ``code`` worded in English from its template."""
        error = cls(FILE_MESSAGES[code].format_map(params))
        error.code, error.params = code, dict(params)
        return error


@dataclass(frozen=True)
class FileAccess:
    """How a flow may reference files.

    ``allowed``: whether it may name files at all (False for flows received over the API/console).
    ``allow_outside``: whether absolute paths and paths through ``..`` (or symlinks) that leave the
    flow's directory are accepted; only an operator validating their own files should turn it on.
    """

    allowed: bool = True
    allow_outside: bool = False
    #: ``audio:`` references are names of recordings uploaded with the flow, not paths (a bundle).
    named_audio: bool = False
    #: The names the bundle carries (``named_audio``); None accepts any well-formed name: a stored
    #: version, whose names were checked when it was uploaded.
    bundle: frozenset[str] | None = None

    @classmethod
    def for_bundle(cls, names: Iterable[str]) -> FileAccess:
        """A flow uploaded with recordings named ``names``: ``audio:`` must name one of them."""
        return cls(allowed=False, named_audio=True, bundle=frozenset(names))

    @classmethod
    def local(cls, allow_outside: bool | None = None) -> FileAccess:
        """Files next to the flow; ``allow_outside`` defaults to :data:`ALLOW_OUTSIDE_ENV`."""
        if allow_outside is None:
            allow_outside = environment().flow_allow_outside_files
        return cls(allowed=True, allow_outside=allow_outside)

    def resolve(self, reference: str, base_dir: Path) -> Path:
        """The path ``reference`` names, relative to ``base_dir``; raise :class:`FileReferenceError`."""
        if not self.allowed:
            raise FileReferenceError.of("file_references_refused")
        if not reference.strip() or "\0" in reference:
            raise FileReferenceError.of("file_name_malformed")
        escapes = (
            PurePosixPath(reference).is_absolute()
            or PureWindowsPath(reference).is_absolute()
            or PureWindowsPath(reference).drive != ""
            or ".." in PurePosixPath(reference.replace("\\", "/")).parts
        )
        root = base_dir.resolve()
        path = (root / reference).resolve()
        if not self.allow_outside and (escapes or not path.is_relative_to(root)):
            raise FileReferenceError.of(
                "file_outside_directory", reference=repr(reference), env=ALLOW_OUTSIDE_ENV
            )
        return path


#: Flows received over the network: no file references at all.
NO_FILES = FileAccess(allowed=False)
#: A stored flow version read back (worker, console, speech service): its recordings are stored with it
#: by name (checked at upload); no other file references.
STORED_FILES = FileAccess(allowed=False, named_audio=True)

#: Longest recording name in a bundle (a relative POSIX path such as ``prompts/greeting.wav``).
MAX_BUNDLE_NAME = 200
_NAME_CHARS = re.compile(r"[\w\-. /]+")


def bundle_name(reference: str) -> str:
    """The canonical name of a recording in a bundle (``./a/b.wav`` → ``a/b.wav``).

    Raises :class:`FileReferenceError` for anything that is not a plain relative path of a ``.wav``
    file: absolute paths, drive letters, backslashes, ``..``, empty segments, odd characters.
    """
    if not reference or len(reference) > MAX_BUNDLE_NAME or not _NAME_CHARS.fullmatch(reference):
        raise FileReferenceError.of(
            "recording_name_invalid", reference=repr(reference[:80]), max=MAX_BUNDLE_NAME
        )
    parts = [part for part in reference.split("/") if part != "."]
    if reference.startswith("/") or not parts or any(part in ("", "..") for part in parts):
        raise FileReferenceError.of("recording_name_dotdot", reference=repr(reference))
    name = "/".join(parts)
    if not name.lower().endswith(".wav"):
        raise FileReferenceError.of("recording_not_wav", reference=repr(reference))
    return name


def audio_references(flow: Flow) -> Iterator[tuple[YamlPath, str]]:
    """Every recorded-audio file the flow names, with its data path."""
    for node_id, node in flow.nodes.items():
        path: YamlPath = ("nodes", node_id, "audio")
        if isinstance(node.audio, dict):
            for fragment, wav in node.audio.items():
                yield (*path, fragment), wav
        elif node.audio is not None:
            yield path, node.audio
        for intent, cell in node.answers.items():
            if cell.audio is not None:
                yield ("nodes", node_id, "answers", intent, "audio"), cell.audio
    for intent, cell in flow.global_answers.items():
        if cell.audio is not None:
            yield ("global", intent, "audio"), cell.audio
    for kind in ("no_input", "no_match"):
        policy = getattr(flow.fallbacks, kind)
        if policy is not None and policy.exhausted.audio is not None:
            yield ("fallbacks", kind, "exhausted", "audio"), policy.exhausted.audio
    for index, entry in enumerate(flow.kb_entries):
        if entry.audio is not None:
            yield ("knowledge_base", index, "audio"), entry.audio

"""Finding profiles: the built-ins shipped in the package and the operator's in ``VPT_PROFILES_DIR``.

A broken user profile is listed with its error (``ProfileRegistry.problems``) and the others work; so is a broken
built-in (a test holds that there is none), so that one bad file never takes the service's other formats down.
A user profile may not take a built-in's name, may ``extends`` one, and is read only from a regular file in the
directory itself, at most ``MAX_PROFILE_BYTES`` long: a symlink that leads out of the directory is not followed.
"""

from __future__ import annotations

import functools
import logging
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from app.config import Settings
from app.ingest.profiles.model import Profile, ProfileError, RecordKind, UnknownProfile
from app.ingest.profiles.validate import build_profile
from app.sanitize import clean

log = logging.getLogger(__name__)

BUILTIN_PACKAGE = "app.ingest.profiles"  # its folder builtin/ (package data: pyproject.toml)
MAX_PROFILE_BYTES = 256 * 1024
#: Sections whose entries are replaced whole by an extending profile (a field's source is one thing).
_REPLACED_WHOLE = frozenset({("fields",), ("inputs",)})


@dataclass(frozen=True, slots=True)
class ProfileProblem:
    origin: str  # the file
    name: str | None  # the profile's name, when it could be read
    error: str
    builtin: bool = False

    def __str__(self) -> str:
        return self.error


@dataclass(frozen=True, slots=True)
class _Entry:
    name: str
    document: dict[str, Any]
    origin: str
    builtin: bool


class ProfileRegistry:
    """The profiles that work, by name, and the problems of those that do not."""

    def __init__(self, profiles: Mapping[str, Profile], problems: list[ProfileProblem]) -> None:
        self._profiles = dict(sorted(profiles.items(), key=lambda item: (not item[1].builtin, item[0])))
        self.problems = problems

    def __iter__(self) -> Iterator[Profile]:
        return iter(self._profiles.values())

    def __len__(self) -> int:
        return len(self._profiles)

    def __contains__(self, name: object) -> bool:
        return name in self._profiles

    def names(self) -> list[str]:
        return list(self._profiles)

    def of_kind(self, kind: RecordKind) -> list[Profile]:
        return [p for p in self if p.record_kind == kind]

    def get(self, name: str) -> Profile:
        """The profile; ``ProfileError`` naming its problem when it is broken, ``UnknownProfile`` when there is
        none of that name."""
        found = self._profiles.get(name)
        if found is not None:
            return found
        broken = next((p for p in self.problems if p.name == name), None)
        if broken is not None:
            raise ProfileError(f"profile {name!r} cannot be used: {broken.error}")
        raise UnknownProfile(clean(f"no import profile {name[:64]!r} (`vpt profiles list` lists them)", 200))


def load_profiles(settings: Settings | None = None, *, directory: str | Path | None = None) -> ProfileRegistry:
    """The built-ins and the profiles of ``directory`` (default: ``settings.profiles_dir``, if set)."""
    if directory is None and settings is not None:
        directory = settings.profiles_dir
    problems: list[ProfileProblem] = []
    entries: dict[str, _Entry] = {}
    for origin, document in builtin_documents():
        _add(entries, problems, origin, document, builtin=True)
    if directory is not None:
        for origin, document in _user_documents(Path(directory), problems):
            _add(entries, problems, origin, document, builtin=False)
    profiles: dict[str, Profile] = {}
    for entry in entries.values():
        try:
            effective = _effective(entry, entries, [])
            profiles[entry.name] = build_profile(effective, origin=entry.origin, builtin=entry.builtin)
        except ProfileError as exc:
            _refuse(problems, entry.origin, entry.name, str(exc), entry.builtin)
    return ProfileRegistry(profiles, problems)


@functools.cache
def builtin_documents() -> tuple[tuple[str, dict[str, Any]], ...]:
    """The built-in TOML documents (parsed once per process), as ``(origin, document)``; a built-in that is not
    TOML is refused by ``load_profiles`` like a user's."""
    out: list[tuple[str, dict[str, Any]]] = []
    folder = resources.files(BUILTIN_PACKAGE) / "builtin"
    for item in sorted(folder.iterdir(), key=lambda i: i.name):
        if item.name.endswith(".toml") and item.is_file():
            origin = f"built-in {item.name}"
            try:
                out.append((origin, tomllib.loads(item.read_text(encoding="utf-8"))))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                out.append((origin, {"__error__": f"not a TOML file: {exc}"}))
    return tuple(out)


def _user_documents(directory: Path, problems: list[ProfileProblem]) -> Iterator[tuple[str, dict[str, Any]]]:
    if not directory.is_dir():
        _refuse(problems, str(directory), None, f"{directory}: VPT_PROFILES_DIR is not a directory")
        return
    root = directory.resolve()
    for path in sorted(directory.glob("*.toml")):
        origin = str(path)
        if path.is_symlink() and not path.resolve().is_relative_to(root):
            _refuse(problems, origin, None, f"{origin}: a symlink out of VPT_PROFILES_DIR: not followed")
            continue
        if not path.is_file():
            _refuse(problems, origin, None, f"{origin}: not a regular file")
            continue
        try:
            with path.open("rb") as stream:
                data = stream.read(MAX_PROFILE_BYTES + 1)
        except OSError as exc:
            _refuse(problems, origin, None, f"{origin}: cannot be read: {exc.strerror or type(exc).__name__}")
            continue
        if len(data) > MAX_PROFILE_BYTES:
            _refuse(problems, origin, None, f"{origin}: larger than {MAX_PROFILE_BYTES // 1024} KiB")
            continue
        try:
            yield origin, tomllib.loads(data.decode("utf-8"))
        except UnicodeDecodeError:
            _refuse(problems, origin, None, f"{origin}: not UTF-8 text")
        except tomllib.TOMLDecodeError as exc:
            _refuse(problems, origin, None, f"{origin}: not a TOML file: {exc}")


def _add(entries: dict[str, _Entry], problems: list[ProfileProblem], origin: str, document: dict[str, Any], *,
         builtin: bool) -> None:
    if "__error__" in document:
        _refuse(problems, origin, None, f"{origin}: {document['__error__']}", builtin)
        return
    head = document.get("profile")
    name = head.get("name") if isinstance(head, dict) else None
    if not isinstance(name, str) or not name.strip():
        _refuse(problems, origin, None, f"{origin}: profile.name: a profile needs a name", builtin)
        return
    taken = entries.get(name)
    if taken is not None:
        why = (f"the name {name!r} is a built-in profile's: extend it (profile.extends = {name!r}) under another name"
               if taken.builtin else f"the name {name!r} is taken by {taken.origin}")
        _refuse(problems, origin, name if not taken.builtin else None, f"{origin}: profile.name: {why}", builtin)
        return
    entries[name] = _Entry(name, document, origin, builtin)


def _effective(entry: _Entry, entries: dict[str, _Entry], seen: list[str]) -> dict[str, Any]:
    """The document with the profiles it extends merged under it: tables key by key, lists replaced, and each
    field's or input's source replaced whole."""
    head = entry.document.get("profile", {})
    base_name = head.get("extends") if isinstance(head, dict) else None
    if base_name is None:
        return entry.document
    if not isinstance(base_name, str):
        raise ProfileError(f"{entry.origin}: profile.extends: the name of another profile")
    if base_name in seen or base_name == entry.name:
        chain = " → ".join([*seen, entry.name, base_name])
        raise ProfileError(f"{entry.origin}: profile.extends: a cycle ({chain})")
    base = entries.get(base_name)
    if base is None or (entry.builtin and not base.builtin):
        raise ProfileError(f"{entry.origin}: profile.extends: no profile {base_name!r}"
                           + (" (or it is broken: see its error)" if base is None else " among the built-ins"))
    merged = _merge(_effective(base, entries, [*seen, entry.name]), entry.document, ())
    merged["profile"] = {k: v for k, v in merged["profile"].items() if k != "extends"} | {"extends": base_name}
    return merged


def _merge(base: dict[str, Any], over: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        below = out.get(key)
        if isinstance(value, dict) and isinstance(below, dict) and path not in _REPLACED_WHOLE:
            out[key] = _merge(below, value, (*path, key))
        else:
            out[key] = value
    return out


def _refuse(problems: list[ProfileProblem], origin: str, name: str | None, error: str, builtin: bool = False) -> None:
    problem = ProfileProblem(clean(origin, 500), name, clean(error, 1000), builtin)
    problems.append(problem)
    log.warning("ingest.profile.refused", extra={"profile": problem.origin, "reason": problem.error})

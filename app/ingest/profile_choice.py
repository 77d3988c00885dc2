"""Which reader a delivery gets, when a way in may name an import profile (docs/profiles.md, issue 14 §5).

Every way in decides the same way: a profile named (``--profile NAME``, ``?profile=NAME``, a source's profile) is
looked up in the registry and must hold the records the way in takes (``ProfileKindMismatch`` otherwise); the word
``auto`` asks detection (app.ingest.profiles.detect) to name one among the profiles of that record kind, refusing
(``NoProfileDetected``) on a tie or when none has more than half its columns; no profile means the canonical format
the way in always chose (by suffix, by Content-Type). A name no profile has but a registered format of that record
kind has (``genesys-conversations``, a plugin's) reads through that format. Every refusal is a 422 that names the
known profiles of the kind, so a caller can correct the name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.config import Settings
from app.ingest.formats import IngestFormat, default_formats
from app.ingest.loader import IngestError, Parser, RecordKind
from app.ingest.profiles import Detection, Profile, ProfileError, UnknownProfile, detect, load_profiles, profile_parser
from app.ingest.profiles.loading import ProfileRegistry
from app.sanitize import clean

#: The profile name that asks detection to choose.
AUTO = "auto"


class ProfileKindMismatch(ProfileError):
    """A profile of the other record kind: its records cannot go where this way in puts them."""

    code = "profile_kind_mismatch"
    status_code = 422


class NoProfileDetected(IngestError):
    """Detection named no profile (a tie, or none with more than half its columns): the caller must name one."""

    code = "no_profile_detected"
    status_code = 422


@dataclass(frozen=True)
class Choice:
    """A delivery's parser and how it was chosen, as a dry run reports it."""

    parser: Parser
    reader: str  # "profile se-statistik-dag", "format calls-csv"
    profile: str | None = None
    detected: bool = False
    detection: str | None = None


def known_names(registry: ProfileRegistry, record_kind: RecordKind) -> str:
    names = [p.name for p in registry.of_kind(record_kind)]
    names += [f.name for f in default_formats() if f.record_kind == record_kind and f.name not in names]
    return ", ".join(names) if names else "(none)"


def resolve_profile(
    settings: Settings, name: str, record_kind: RecordKind, registry: ProfileRegistry | None = None,
) -> Profile:
    """The usable profile ``name`` holding ``record_kind``; ``UnknownProfile``, ``ProfileError`` (broken) or
    ``ProfileKindMismatch`` naming the usable profiles of that kind otherwise."""
    registry = registry or load_profiles(settings)
    shown = clean(name[:64])
    try:
        profile = registry.get(name)
    except UnknownProfile:
        raise UnknownProfile(f"no import profile {shown!r}; profiles of {record_kind}: "
                             f"{known_names(registry, record_kind)}") from None
    except ProfileError as exc:
        raise ProfileError(f"{exc}; usable profiles of {record_kind}: {known_names(registry, record_kind)}") from None
    if profile.record_kind != record_kind:
        raise ProfileKindMismatch(f"profile {profile.name!r} holds {profile.record_kind}, not {record_kind}; profiles "
                                  f"of {record_kind}: {known_names(registry, record_kind)}")
    return profile


def usable_profile(settings: Settings, name: str) -> Profile:
    """The usable profile ``name`` of either kind (a push source's, which takes pushes of both); ``UnknownProfile``
    or ``ProfileError`` naming the usable profiles otherwise."""
    registry = load_profiles(settings)
    try:
        return registry.get(name)
    except UnknownProfile:
        raise UnknownProfile(f"no import profile {clean(name[:64])!r}; profiles: "
                             f"{', '.join(registry.names()) or '(none)'}") from None
    except ProfileError as exc:
        raise ProfileError(f"{exc}; usable profiles: {', '.join(registry.names()) or '(none)'}") from None


#: The containers of profiles that can read a pull source's pages (JSON: app.ingest.pull).
PAGE_CONTAINERS = ("jsonl", "json")


def pull_source_profile(settings: Settings, name: str, record_kind: RecordKind) -> Profile:
    """The profile a pull source of ``record_kind`` may read its pages through: one of that kind whose container
    reads JSON; ``ProfileError`` (or a subclass) naming why not otherwise."""
    profile = resolve_profile(settings, name, record_kind)
    if profile.container.type not in PAGE_CONTAINERS:
        raise ProfileKindMismatch(f"profile {profile.name!r} reads {profile.container.type}; a pull source's pages are "
                                  f"JSON: it takes a profile of {' or '.join(PAGE_CONTAINERS)}")
    return profile


def page_for_profile(records: list[dict[str, Any]], profile: Profile) -> bytes:
    """A pull source's page of ``records`` as ``profile``'s container holds records (JSON Lines, or a JSON document
    with them at its ``records`` path). A lone surrogate is written back as its escape (app.ingest.pull._as_jsonl):
    the parser then rejects that row naming its field instead of the whole page failing here."""
    if not records:
        return b""
    if profile.container.type == "jsonl":
        text = "\n".join(json.dumps(record, ensure_ascii=False, default=str) for record in records) + "\n"
    else:
        document: Any = records
        for key in reversed([part for part in profile.container.records.split(".") if part]):
            document = {key: document}
        text = json.dumps(document, ensure_ascii=False, default=str)
    return text.encode("utf-8", "backslashreplace")


def profile_choice(settings: Settings, profile: Profile, detection: Detection | None = None) -> Choice:
    """The choice of reading through ``profile`` (chosen by ``detection``, when one chose it)."""
    described = None
    if detection is not None and detection.chosen is not None:
        matched = ", ".join(detection.chosen.matched)
        described = clean(f"detected: {detection.reason} of {profile.name} found ({matched})", 1000)
    return Choice(profile_parser(profile, settings), f"profile {profile.name}", profile.name,
                  detection is not None, described)


def detected_choice(settings: Settings, head: Path | bytes, record_kind: RecordKind, because: str = "") -> Choice:
    """The profile detection names for this file (or its head); ``NoProfileDetected`` naming the candidates."""
    registry = load_profiles(settings)
    detection = detect(head, registry.of_kind(record_kind), record_kind)
    if detection.chosen is None:
        candidates = ", ".join(f"{m.profile.name} ({len(m.matched)} of {len(m.matched) + len(m.missed)})"
                               for m in detection.candidates[:5]) or "none"
        prefix = f"{because}; " if because else ""
        raise NoProfileDetected(clean(f"{prefix}no import profile detected: {detection.reason} (candidates: "
                                      f"{candidates}); name one (--profile NAME, ?profile=NAME; `vpt profiles "
                                      "list`)", 1500))
    choice = profile_choice(settings, detection.chosen.profile, detection)
    if because:
        note = f"{because} — {choice.detection}"
        return Choice(choice.parser, choice.reader, choice.profile, True, clean(note, 1500))
    return choice


def choose(settings: Settings, record_kind: RecordKind, profile: str | None, head: Path | bytes) -> Choice | None:
    """The choice a named profile or ``auto`` makes, or None when no profile was named (the caller's canonical
    format then reads it)."""
    if profile is None:
        return None
    if profile == AUTO:
        return detected_choice(settings, head, record_kind)
    try:
        return profile_choice(settings, resolve_profile(settings, profile, record_kind))
    except UnknownProfile:
        member = _format_named(profile, record_kind)
        if member is None:
            raise
        return Choice(member.make_parser(settings), f"format {member.name}")


def _format_named(name: str, record_kind: RecordKind) -> IngestFormat | None:
    """A registered format of ``record_kind`` called ``name``: a parser that no profile can describe (Genesys
    conversation details, a third party's) is named where a profile is, so every way in reaches it."""
    return next((f for f in default_formats() if f.name == name and f.record_kind == record_kind), None)


def choose_for_file(settings: Settings, command: RecordKind, path: Path, profile: str | None) -> Choice:
    """``vpt ingest <command> FILE [--profile NAME|auto]``: the profile, else the format its suffix chooses."""
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    chosen = choose(settings, command, profile, path)
    if chosen is not None:
        return chosen
    member = default_formats().for_file(path, command=command)
    return Choice(member.make_parser(settings), f"format {member.name}")


def detect_for_file(settings: Settings, command: RecordKind, path: Path, *, because: str) -> Choice:
    """A dry run's second try at a file its canonical format cannot read: the profile detection names."""
    return detected_choice(settings, path, command, f"the canonical format cannot read it ({because})")

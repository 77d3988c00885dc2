"""Import profiles (docs/profiles.md): declarative mappings of an export onto the canonical records (SPEC §3).

    from app.ingest.profiles import load_profiles, profile_parser
    registry = load_profiles(settings)            # built-ins + VPT_PROFILES_DIR; broken ones in registry.problems
    profile = registry.get(name)                  # ProfileError (UnknownProfile) when it cannot be used
    parser = profile_parser(profile, settings)    # a loader Parser; see app.ingest.profiles.parser for its counters
    ingest_file(factory, settings, profile.record_kind, path, parser=parser)

A profile only maps: every row it makes is checked by the canonical parser (app.ingest.parsers). Modules: model
(the validated profile), checks and validate (TOML → profile), expr, values and convert (a value and its
conversions), containers (reading CSV, JSON Lines, JSON), mapping (a row → canonical fields), parser (filters,
dedupe, chains, the canonical checks), loading (built-ins and VPT_PROFILES_DIR), detect, render (TOML for show).
"""

from app.ingest.profiles.detect import Detection, Match, detect
from app.ingest.profiles.loading import MAX_PROFILE_BYTES, ProfileProblem, ProfileRegistry, load_profiles
from app.ingest.profiles.model import Profile, ProfileError, UnknownProfile
from app.ingest.profiles.parser import Parser, ProfileParser, profile_parser

__all__ = [
    "MAX_PROFILE_BYTES", "Detection", "Match", "Parser", "Profile", "ProfileError", "ProfileParser", "ProfileProblem",
    "ProfileRegistry", "UnknownProfile", "detect", "load_profiles", "profile_parser",
]

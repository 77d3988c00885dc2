"""A profile's TOML document, checked key by key into a ``Profile`` (docs/profiles.md "Errors").

Every error names the file, the dotted key (``fields.answered_at.cases[0].column``) and why, so whoever wrote the
profile can fix it without reading this code. Nothing here reads a data file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.ingest.profiles.checks import Check, constant_text, kind_of
from app.ingest.profiles.expr import ExprSyntaxError, compile_expr
from app.ingest.profiles.model import (
    DURATION_FIELDS,
    DURATIONS,
    ENCODINGS,
    FIELDS,
    NAME,
    OUTCOMES,
    REQUIRED,
    STOCKHOLM_ZONE,
    TIMESTAMP_FIELDS,
    Case,
    Chain,
    Condition,
    Container,
    Convert,
    Dedupe,
    Profile,
    RecordKind,
    Source,
)

SECTIONS = ("profile", "container", "fields", "inputs", "filter", "detect", "chain", "dedupe")
SOURCE_KEYS = ("column", "columns", "first_of", "value", "expr", "cases")
CONVERT_KEYS = ("map", "map_default", "map_case", "timestamp", "zone", "duration", "scale")
CONDITION_KEYS = ("present", "absent", "when", "in", "not_in")
FILTER_KEYS = ("column", "present", "absent", "in", "not_in", "matches")
INPUT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_SAMPLE = datetime(2025, 10, 26, 2, 30, 45)  # noqa: DTZ001  # a naive wall time a strptime pattern must read back


def build_profile(document: Mapping[str, Any], *, origin: str, builtin: bool) -> Profile:
    """The validated profile of an effective document (``extends`` already merged in)."""
    check = Check(origin)
    doc = check.table(document, "", SECTIONS)
    head = check.table(doc.get("profile"), "profile",
                       ("name", "title", "record", "description", "reference", "extends"))
    name = check.text(head.get("name"), "profile.name", 64)
    if not NAME.fullmatch(name):
        check.fail("profile.name", "1–64 of a–z 0–9 . _ -, starting with a letter or digit")
    title = check.text(head.get("title"), "profile.title")
    record = head.get("record")
    if record not in FIELDS:
        check.fail("profile.record", f"must be \"calls\" or \"intervals\", not {record!r}")
    kind = cast(RecordKind, record)
    description = check.text(head["description"], "profile.description", 4000) if "description" in head else None
    reference = check.text(head["reference"], "profile.reference", 4000) if "reference" in head else None
    if builtin and reference is None:
        check.fail("profile.reference", "a built-in profile must say where its field list comes from")
    extends = check.text(head["extends"], "profile.extends", 64) if "extends" in head else None

    container = _container(check, doc.get("container", {}))
    raw_fields = check.table(doc.get("fields"), "fields", FIELDS[kind])
    raw_inputs = check.table(doc.get("inputs", {}), "inputs")
    for input_name in raw_inputs:
        if not INPUT_NAME.fullmatch(input_name):
            check.fail(f"inputs.{input_name}", "an input's name is a letter or _ then letters, digits or _ "
                                               "(it is used in expressions)")
        if input_name in FIELDS["calls"] or input_name in FIELDS["intervals"]:
            check.fail(f"inputs.{input_name}", "a canonical field's name: map it under [fields]")
    named = frozenset(raw_fields) | frozenset(raw_inputs)
    fields = {f: _source(check, spec, f"fields.{f}", f, None, named) for f, spec in raw_fields.items()}
    inputs = {i: _source(check, spec, f"inputs.{i}", None, i, named) for i, spec in raw_inputs.items()}
    missing = [f for f in REQUIRED[kind] if f not in fields]
    if missing:
        check.fail("fields", f"{kind} need {', '.join(missing)} (docs/profiles.md \"Fields a profile need not map\")")
    _no_cycles(check, fields, inputs)

    raw_filters = doc.get("filter", [])
    if not isinstance(raw_filters, list):
        check.fail("filter", "write filters as [[filter]] tables")
    filters = tuple(_filter(check, spec, f"filter[{i}]") for i, spec in enumerate(raw_filters))
    chain = _chain(check, doc["chain"], kind) if "chain" in doc else None
    dedupe = None
    if "dedupe" in doc:
        table = check.table(doc["dedupe"], "dedupe", ("key", "newest"))
        newest = check.text(table["newest"], "dedupe.newest") if "newest" in table else None
        dedupe = Dedupe(check.text(table.get("key"), "dedupe.key"), newest)
    detect = check.table(doc.get("detect", {}), "detect", ("columns",))
    detect_columns = check.texts(detect["columns"], "detect.columns") if "columns" in detect else ()
    return Profile(
        name=name, title=title, record_kind=kind, origin=origin, builtin=builtin, container=container,
        fields=MappingProxyType(fields), inputs=MappingProxyType(inputs), filters=filters, chain=chain,
        dedupe=dedupe, detect_columns=detect_columns, description=description, reference=reference,
        extends=extends, document=MappingProxyType(dict(document)),
    )


def _container(check: Check, value: object) -> Container:
    table = check.table(value, "container",
                        ("type", "delimiter", "encoding", "decimal", "header", "columns", "skip_lines", "records"))
    kind = table.get("type", "csv")
    if kind not in ("csv", "jsonl", "json"):
        check.fail("container.type", f"must be \"csv\", \"jsonl\" or \"json\", not {kind!r}")
    for key in ("delimiter", "header", "columns", "skip_lines"):
        if key in table and kind != "csv":
            check.fail(f"container.{key}", "only for csv")
    if "records" in table and kind != "json":
        check.fail("container.records", "only for json")
    delimiter = check.text(table.get("delimiter", "auto"), "container.delimiter", empty=True)
    if delimiter != "auto" and (len(delimiter) != 1 or delimiter in "\"\r\n"):
        check.fail("container.delimiter", "one character (not a quote or a line break), or \"auto\"")
    encoding = table.get("encoding", "utf-8")
    if encoding not in ENCODINGS:
        check.fail("container.encoding", f"one of {', '.join(ENCODINGS)}, not {encoding!r}")
    decimal = table.get("decimal", "auto")
    if decimal not in (".", ",", "auto"):
        check.fail("container.decimal", f"\".\", \",\" or \"auto\", not {decimal!r}")
    header = table.get("header", True)
    if not isinstance(header, bool):
        check.fail("container.header", "true or false")
    columns = check.texts(table["columns"], "container.columns") if "columns" in table else ()
    if not header and not columns:
        check.fail("container.columns", "a csv without a header needs the names of its columns")
    if header and columns:
        check.fail("container.columns", "only for a csv without a header (header = false)")
    skip = table.get("skip_lines", 0)
    if not isinstance(skip, int) or isinstance(skip, bool) or not 0 <= skip <= 1000:
        check.fail("container.skip_lines", "a whole number from 0 to 1000")
    records = check.text(table.get("records", ""), "container.records", empty=True)
    if records and any(not part for part in records.split(".")):
        check.fail("container.records", "a dotted path such as \"data.records\" (or \"\": the document is the array)")
    return Container(kind, delimiter, encoding, decimal, header, columns, skip, records)


def _source(check: Check, spec: object, key: str, field: str | None, input_name: str | None,
            named: frozenset[str], in_case: bool = False) -> Source:
    """One field's (``field``) or input's (``input_name``) source, or a case's result (``in_case``)."""
    if isinstance(spec, str):
        spec = {"column": spec}
    allowed = tuple(k for k in SOURCE_KEYS if not (in_case and k == "cases")) + CONVERT_KEYS
    if input_name is not None and not in_case:
        allowed += ("required",)
    if in_case:
        allowed += CONDITION_KEYS
    table = check.table(spec, key, allowed)
    given = [k for k in SOURCE_KEYS if k in table]
    if len(given) != 1:
        which = ", ".join(k for k in SOURCE_KEYS if not (in_case and k == "cases"))
        check.fail(key, f"needs exactly one of {which}" + (f", not {' and '.join(given)}" if given else ""))
    source_kind = given[0]
    if source_kind == "cases" and any(k in table for k in CONVERT_KEYS):
        check.fail(key, "conversions go on each case (a case may carry map, timestamp, duration, …)")
    raw = table[source_kind]
    self_name = field or input_name
    names: tuple[str, ...] = ()
    constant = None
    expr = None
    cases: tuple[Case, ...] = ()
    if source_kind == "column":
        names = (check.text(raw, f"{key}.column"),)
    elif source_kind in ("columns", "first_of"):
        names = check.texts(raw, f"{key}.{source_kind}")
    elif source_kind == "value":
        constant = constant_text(raw)
        if constant is None:
            check.fail(f"{key}.value", f"a string, number or boolean, not {kind_of(raw)}")
    elif source_kind == "expr":
        try:
            expr = compile_expr(raw)
        except ExprSyntaxError as exc:
            check.fail(f"{key}.expr", str(exc))
        for name in sorted(expr.names):
            if name not in named or name == self_name:
                check.fail(f"{key}.expr", f"{name!r} is not another field or input of this profile")
    else:
        if not isinstance(raw, list) or not raw:
            check.fail(f"{key}.cases", "a non-empty list of case tables")
        cases = tuple(_case(check, item, f"{key}.cases[{i}]", field, input_name, named)
                      for i, item in enumerate(raw))
    convert = _convert(check, table, key, field, input_name)
    if field == "outcome":
        _check_outcomes(check, key, constant, convert)
    if field == "interval_minutes" and constant is not None and constant.lower() not in (
            "15", "30", "60", "day", "1440", "month"):
        check.fail(f"{key}.value", "15, 30, 60, \"day\" or \"month\"")
    return Source(source_kind, names, constant, expr, cases, convert)  # type: ignore[arg-type]


def _case(check: Check, spec: object, key: str, field: str | None, input_name: str | None,
          named: frozenset[str]) -> Case:
    table = check.table(spec, key)
    conditions: list[Condition] = []
    for test in ("present", "absent"):
        if test in table:
            conditions.append(Condition(test, check.text(table[test], f"{key}.{test}")))
    if "when" in table:
        when = check.text(table["when"], f"{key}.when")
        tests = [t for t in ("in", "not_in") if t in table]
        if len(tests) != 1:
            check.fail(f"{key}.when", "needs exactly one of in, not_in")
        values = frozenset(v.strip() for v in check.texts(table[tests[0]], f"{key}.{tests[0]}", empty=True))
        conditions.append(Condition(tests[0], when, values))
    elif "in" in table or "not_in" in table:
        check.fail(key, "in and not_in test the text named by when")
    rest = {k: v for k, v in table.items() if k not in CONDITION_KEYS}
    source = _source(check, rest, key, field, input_name, named, in_case=True)
    return Case(tuple(conditions), source)


def _convert(check: Check, table: dict[str, Any], key: str, field: str | None, input_name: str | None) -> Convert:
    is_time = field in TIMESTAMP_FIELDS or (field is None and "timestamp" in table)
    is_duration = field in DURATION_FIELDS or (field is None and "duration" in table)
    if "timestamp" in table and not (field in TIMESTAMP_FIELDS or input_name is not None):
        check.fail(f"{key}.timestamp", f"only on timestamp fields ({', '.join(sorted(TIMESTAMP_FIELDS))}) and inputs")
    if "duration" in table and not (field in DURATION_FIELDS or input_name is not None):
        check.fail(f"{key}.duration", "only on duration fields and inputs")
    if "timestamp" in table and "duration" in table:
        check.fail(key, "a value is a timestamp or a duration, not both")
    if "zone" in table and not is_time:
        check.fail(f"{key}.zone", "only with a timestamp")
    mapping = None
    insensitive = False
    if "map" in table:
        raw_map = check.table(table["map"], f"{key}.map")
        if not raw_map:
            check.fail(f"{key}.map", "must not be empty")
        insensitive = _map_case(check, table.get("map_case", "exact"), key)
        mapping = {}
        for source_text, target in raw_map.items():
            text = constant_text(target)
            if text is None:
                check.fail(f"{key}.map.{source_text}", f"a string or number, not {kind_of(target)}")
            mapping[source_text.strip().lower() if insensitive else source_text.strip()] = text
    elif "map_default" in table or "map_case" in table:
        check.fail(key, "map_default and map_case need a map")
    default = check.text(table["map_default"], f"{key}.map_default", empty=True) if "map_default" in table else None
    timestamp = table.get("timestamp", "iso" if is_time else None)
    if timestamp is not None:
        _timestamp(check, timestamp, f"{key}.timestamp")
    zone = table.get("zone", STOCKHOLM_ZONE)
    if zone != STOCKHOLM_ZONE:
        _zone(check, zone, f"{key}.zone")
    duration = table.get("duration", "s" if is_duration else None)
    if duration is not None and duration not in DURATIONS:
        check.fail(f"{key}.duration", f"one of {', '.join(DURATIONS)}, not {duration!r}")
    scale = table.get("scale")
    if scale is not None and (isinstance(scale, bool) or not isinstance(scale, int | float) or not scale > 0):
        check.fail(f"{key}.scale", "a positive number")
    required = table.get("required", False)
    if not isinstance(required, bool):
        check.fail(f"{key}.required", "true or false")
    return Convert(MappingProxyType(mapping) if mapping is not None else None, default, insensitive, timestamp,
                   zone, duration, float(scale) if scale is not None else None, required)


def _map_case(check: Check, value: object, key: str) -> bool:
    if value not in ("exact", "insensitive"):
        check.fail(f"{key}.map_case", f"\"exact\" or \"insensitive\", not {value!r}")
    return value == "insensitive"


def _timestamp(check: Check, value: object, key: str) -> None:
    if value in ("iso", "epoch_s", "epoch_ms"):
        return
    if not isinstance(value, str) or "%" not in value or len(value) > 64:
        check.fail(key, "\"iso\", \"epoch_s\", \"epoch_ms\" or a strptime pattern such as \"%Y-%m-%d %H:%M\"")
    try:
        datetime.strptime(_SAMPLE.strftime(value), value)  # noqa: DTZ007  # a naive wall time, read by the zone
    except (ValueError, TypeError) as exc:
        check.fail(key, f"a strptime pattern that cannot read what it describes ({exc})")


def _zone(check: Check, value: object, key: str) -> None:
    if not isinstance(value, str):
        check.fail(key, "an IANA zone such as \"Europe/Stockholm\" or \"UTC\"")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        check.fail(key, f"unknown zone {value!r} (an IANA zone such as \"Europe/Stockholm\" or \"UTC\")")


def _check_outcomes(check: Check, key: str, constant: str | None, convert: Convert) -> None:
    targets = [(f"{key}.value", constant)] if constant is not None else []
    if convert.map is not None:
        targets += [(f"{key}.map", v) for v in convert.map.values()]
    if convert.map_default not in (None, "keep"):
        targets.append((f"{key}.map_default", convert.map_default))
    for where, text in targets:
        if text is not None and text.strip().lower() not in OUTCOMES:
            check.fail(where, f"{text!r} is not an outcome ({', '.join(OUTCOMES)})")


def _filter(check: Check, spec: object, key: str) -> Condition:
    table = check.table(spec, key, FILTER_KEYS)
    subjects = [k for k in ("column", "present", "absent") if k in table]
    if len(subjects) != 1:
        check.fail(key, "needs exactly one of column, present, absent")
    subject = subjects[0]
    name = check.text(table[subject], f"{key}.{subject}")
    tests = [k for k in ("in", "not_in", "matches") if k in table]
    if subject != "column":
        if tests:
            check.fail(key, f"{subject} stands alone (in, not_in and matches go with column)")
        return Condition(subject, name)
    if len(tests) != 1:
        check.fail(key, "column needs exactly one of in, not_in, matches")
    if tests[0] == "matches":
        pattern = check.text(table["matches"], f"{key}.matches", empty=True)
        try:
            return Condition("matches", name, pattern=re.compile(pattern))
        except re.error as exc:
            check.fail(f"{key}.matches", f"not a regular expression: {exc}")
    values = frozenset(v.strip() for v in check.texts(table[tests[0]], f"{key}.{tests[0]}", empty=True))
    return Condition(tests[0], name, values)


def _chain(check: Check, value: object, kind: RecordKind) -> Chain:
    table = check.table(value, "chain", ("previous", "group"))
    if kind != "calls":
        check.fail("chain", "chains join the legs of calls: not for intervals")
    given = [k for k in ("previous", "group") if k in table]
    if len(given) != 1:
        check.fail("chain", "needs exactly one of previous, group")
    link = check.text(table[given[0]], f"chain.{given[0]}")
    return Chain(previous=link) if given[0] == "previous" else Chain(group=link)


def _no_cycles(check: Check, fields: dict[str, Source], inputs: dict[str, Source]) -> None:
    """An expression or a case's ``when`` that leads back to its own field could never be computed."""
    sources = {**fields, **inputs}
    where = {**{f: f"fields.{f}" for f in fields}, **{i: f"inputs.{i}" for i in inputs}}

    def depends(source: Source) -> set[str]:
        out = set(source.expr.names) if source.expr is not None else set()
        for case in source.cases:
            out |= {c.name for c in case.conditions if c.test in ("in", "not_in") and c.name in sources}
            out |= depends(case.source)
        return out

    graph = {name: depends(source) for name, source in sources.items()}
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for other in sorted(graph[name]):
            if state.get(other) == 1:
                loop = [*path[path.index(other):], other] if other in path else [name, other]
                check.fail(where[path[0] if path else name], f"refers to itself: {' → '.join(loop)}")
            if other not in state:
                visit(other, [*path, other])
        state[name] = 2

    for name in sources:
        if name not in state:
            visit(name, [name])

"""The Prometheus text of a registry, byte for byte what ``prometheus_client.generate_latest`` writes, but cheaper.

A scrape renders ~1 000 samples, and ``generate_latest`` escapes every label name and value of each afresh:
about half of a first scrape's exposition time (~5 ms of CPU at 10 years x 21 regions). The label sets repeat
from scrape to scrape (the scopes, windows, KPIs and states are few), so each set's finished ``{...}`` text is kept
by its exact items; anything else (names, help, types, the sample order, OpenMetrics-only samples, number
formatting) is done as ``generate_latest`` does it. tests/metrics/test_exposition.py holds the two equal over
generated registries (quotes, backslashes, newlines, non-ASCII, odd names and values) and over a real scrape.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client.openmetrics.exposition import UNDERSCORES, escape_label_name, escape_metric_name
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

_go_string: Callable[[float], str] = floatToGoString  # the number as Go prints it (untyped upstream)

#: finished label texts kept: far above the ~1 000 sets of a scrape; cleared whole when full (new label values:
#: a new source's name, a new month's scopes), so it cannot grow without bound
LABEL_TEXTS_KEPT = 20_000
_OPENMETRICS_ONLY = ("_created", "_gsum", "_gcount")
_TYPES = {"counter": "counter", "info": "gauge", "stateset": "gauge", "gaugehistogram": "histogram",
          "unknown": "untyped"}

_label_texts: dict[tuple[tuple[str, str], ...], str] = {}
_label_pairs: dict[tuple[str, str], str] = {}


def _label_text(labels: dict[str, str]) -> str:
    key = tuple(labels.items())
    text = _label_texts.get(key)
    if text is None:
        # A set not seen yet (a process's first scrape: all ~1 000) is joined from kept name="value" pairs,
        # which repeat across sets far more (the scopes, windows, KPIs).
        text = "{" + ",".join(map(_label_pair, sorted(labels.items()))) + "}" if labels else ""
        if len(_label_texts) >= LABEL_TEXTS_KEPT:
            _label_texts.clear()
        _label_texts[key] = text
    return text


def _label_pair(item: tuple[str, str]) -> str:
    pair = _label_pairs.get(item)
    if pair is None:
        name, value = item
        pair = '{}="{}"'.format(escape_label_name(name, UNDERSCORES),
                                value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\""))
        if len(_label_pairs) >= LABEL_TEXTS_KEPT:
            _label_pairs.clear()
        _label_pairs[item] = pair
    return pair


_int_texts: dict[int, str] = {}


def _value_text(value: float) -> str:
    """``floatToGoString``; an int's text kept (the state sets' 0 and 1 are about half of a scrape's samples). Only
    ints: a float key would take -0.0 for 0.0, which print differently."""
    if type(value) is not int:
        return _go_string(value)
    text = _int_texts.get(value)
    if text is None:
        if len(_int_texts) >= LABEL_TEXTS_KEPT:
            _int_texts.clear()
        text = _int_texts[value] = _go_string(value)
    return text


def _help(documentation: str) -> str:
    return documentation.replace("\\", r"\\").replace("\n", r"\n")


def render(registry: Collector) -> bytes:
    """``generate_latest(registry)`` with its default escaping (``UNDERSCORES``: the classic text format of
    ``CONTENT_TYPE_LATEST``), the same bytes."""
    output: list[str] = []
    append = output.append
    for metric in registry.collect():
        om_samples: dict[str, list[str]] = {}
        try:
            mname = metric.name
            if metric.type == "counter":
                mname += "_total"
            elif metric.type == "info":
                mname += "_info"
            mtype = _TYPES.get(metric.type, metric.type)
            escaped = escape_metric_name(mname, UNDERSCORES)
            append(f"# HELP {escaped} {_help(metric.documentation)}\n")
            append(f"# TYPE {escaped} {mtype}\n")
            special = {metric.name + suffix: suffix for suffix in _OPENMETRICS_ONLY}
            names: dict[str, str] = {}
            for sample in metric.samples:
                name = names.get(sample.name)
                if name is None:
                    name = names[sample.name] = escape_metric_name(sample.name, UNDERSCORES)
                timestamp = "" if sample.timestamp is None else f" {int(float(sample.timestamp) * 1000):d}"
                line = f"{name}{_label_text(sample.labels)} {_value_text(sample.value)}{timestamp}\n"
                suffix = special.get(sample.name)
                if suffix is None:
                    append(line)
                else:
                    om_samples.setdefault(suffix, []).append(line)
        except Exception as exception:
            exception.args = (exception.args or ("",)) + (metric,)
            raise
        for suffix, lines in sorted(om_samples.items()):
            escaped = escape_metric_name(metric.name + suffix, UNDERSCORES)
            append(f"# HELP {escaped} {_help(metric.documentation)}\n")
            append(f"# TYPE {escaped} gauge\n")
            output.extend(lines)
    return "".join(output).encode("utf-8")

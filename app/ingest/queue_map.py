"""The queue → region map for Asterisk queue_log files: a ``queue,region`` CSV, read strictly."""

from __future__ import annotations

import csv
from typing import IO


class QueueMapError(ValueError):
    """The queue → region configuration cannot be used; the message names the line."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.line = line


def read_queue_map(stream: IO[str], known_regions: frozenset[str] | None = None) -> dict[str, str]:
    """Read ``queue,region`` CSV strictly: a wrong mapping would put calls in the wrong region's figures.

    Blank lines and ``#`` comment lines are skipped; ``;`` works as the delimiter (Swedish spreadsheets).
    A queue listed twice with the same region is tolerated; with another region it is an error. Queue
    names are compared case-insensitively, as Asterisk does.
    """
    mapping: dict[str, str] = {}
    first_seen: dict[str, tuple[str, int]] = {}  # folded queue name → (region, line)
    columns: tuple[int, int] | None = None
    delimiter = ","
    for number, line in enumerate(stream, start=1):
        text = (line.lstrip("\ufeff") if number == 1 else line).strip()
        if not text or text.startswith("#"):
            continue
        if columns is None:
            delimiter = ";" if text.count(";") > text.count(",") else ","
            names = [cell.strip().lower() for cell in next(csv.reader([text], delimiter=delimiter))]
            missing = [name for name in ("queue", "region") if name not in names]
            if missing:
                raise QueueMapError(
                    f"the header must name the columns queue and region; missing {', '.join(missing)} "
                    f"in {text[:80]!r}",
                    number,
                )
            columns = (names.index("queue"), names.index("region"))
            continue
        try:
            cells = [cell.strip() for cell in next(csv.reader([text], delimiter=delimiter, strict=True))]
        except csv.Error as exc:
            raise QueueMapError(f"malformed CSV: {exc}", number) from None
        if len(cells) <= max(columns):
            raise QueueMapError(f"expected a queue and a region, found {len(cells)} value(s)", number)
        queue, region = cells[columns[0]], cells[columns[1]].upper()
        if not queue:
            raise QueueMapError("the queue name is empty", number)
        if not region:
            raise QueueMapError(f"the region of queue {queue!r} is empty", number)
        if known_regions is not None and region not in known_regions:
            raise QueueMapError(
                f"unknown region {region!r} for queue {queue!r} (expected an ISO 3166-2:SE code such as SE-AC)",
                number,
            )
        earlier = first_seen.get(queue.casefold())
        if earlier is not None:
            if earlier[0] != region:
                raise QueueMapError(
                    f"queue {queue!r} is mapped to {region} here but to {earlier[0]} on line {earlier[1]}", number
                )
            continue
        first_seen[queue.casefold()] = (region, number)
        mapping[queue] = region
    if columns is None:
        raise QueueMapError("the queue map is empty: expected a header line 'queue,region'")
    if not mapping:
        raise QueueMapError("the queue map names no queues")
    return mapping

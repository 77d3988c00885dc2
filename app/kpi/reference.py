"""Reference data shipped with the product (SPEC §2, §6).

Inhabitants are approximate (2024) and used only to scale simulated traffic.
"""

from __future__ import annotations

from decimal import Decimal

REGIONS: tuple[tuple[str, str, int], ...] = (
    ("SE-AB", "Stockholm", 2_450_000),
    ("SE-AC", "Västerbotten", 275_000),
    ("SE-BD", "Norrbotten", 250_000),
    ("SE-C", "Uppsala", 400_000),
    ("SE-D", "Södermanland", 300_000),
    ("SE-E", "Östergötland", 470_000),
    ("SE-F", "Jönköping", 370_000),
    ("SE-G", "Kronoberg", 205_000),
    ("SE-H", "Kalmar", 246_000),
    ("SE-I", "Gotland", 61_000),
    ("SE-K", "Blekinge", 157_000),
    ("SE-M", "Skåne", 1_420_000),
    ("SE-N", "Halland", 342_000),
    ("SE-O", "Västra Götaland", 1_760_000),
    ("SE-S", "Värmland", 283_000),
    ("SE-T", "Örebro", 307_000),
    ("SE-U", "Västmanland", 280_000),
    ("SE-W", "Dalarna", 288_000),
    ("SE-X", "Gävleborg", 288_000),
    ("SE-Y", "Västernorrland", 245_000),
    ("SE-Z", "Jämtland Härjedalen", 132_000),
)

COLLABORATIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("norra", "Norra sjukvårdsregionen", ("SE-BD", "SE-AC", "SE-Z", "SE-Y")),
)

#: (kpi, comparator, value): Region Västerbotten's targets, the default everywhere (SPEC §6).
DEFAULT_TARGETS: tuple[tuple[str, str, Decimal], ...] = (
    ("answer_rate", ">=", Decimal("0.85")),
    ("mean_wait", "<=", Decimal("600")),
)

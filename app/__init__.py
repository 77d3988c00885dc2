"""vpt-monitor: accessibility of 1177 Vårdguiden på telefon per region and collaboration."""

__version__ = "0.1.0"

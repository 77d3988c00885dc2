"""Ingest: parsers (bytes → canonical records + rejections), sources (fetching), loader (storing)."""

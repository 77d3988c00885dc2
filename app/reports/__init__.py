"""Rendering the scorecard document for people: CSV/XLSX exports, the board report (HTML + SVG), terminal text.

Reads what ``app.scorecard`` returns; never queries the database itself except through the scorecard services.
"""

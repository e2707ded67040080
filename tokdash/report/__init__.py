"""Non-interactive reports: tables for people and JSON for scripts.

- :mod:`~tokdash.report.sessions`: ``tokdash report sessions``;
- :mod:`~tokdash.report.history`: ``tokdash report daily|weekly|monthly|projects|models``;
- :mod:`~tokdash.report.table`: the one text-table writer both use.

Pure functions over summaries and history rows; ``tokdash.cli`` wires them to arguments.
"""

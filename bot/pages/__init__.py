"""HTML the product serves: the intake page (intake.py). Self-contained documents, no scripts.

May import: bot.domain.
"""

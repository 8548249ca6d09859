"""Load script: `python -m tests.load --rate 200 --seconds 60` (see run.py)."""

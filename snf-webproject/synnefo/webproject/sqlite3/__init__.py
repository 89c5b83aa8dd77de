"""Django's SQLite backend, fit for several writing processes (see base.py)."""

"""Alembic migrations of the database schema: env.py runs them, versions/ holds one per revision."""

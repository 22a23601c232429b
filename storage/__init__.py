"""Persistence for newsmon: tables, engine, migrations and the store API."""

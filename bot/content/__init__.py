"""Lessons on disk: loading and checking lessons/ into domain types; templating, cues, importers."""

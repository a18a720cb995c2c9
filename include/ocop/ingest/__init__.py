"""Ingest: find what provinces send, land it, read it and parse it into the record frame."""

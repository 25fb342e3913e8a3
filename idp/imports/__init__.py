"""Imports: read a source's export, plan the change against the database, apply it at once."""

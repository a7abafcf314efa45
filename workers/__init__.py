"""Celery app, thin tasks and the beat schedule. Tasks take ids and call syndicator services."""

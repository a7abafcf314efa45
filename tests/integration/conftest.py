"""Fixtures for the integration tests."""

from tests.fakes.portals import portal, portal_factory
from tests.fakes.webhook import webhook, webhook_factory

__all__ = ["portal", "portal_factory", "webhook", "webhook_factory"]

"""Fixtures for the integration tests."""

from tests.fakes.portals import portal, portal_factory

__all__ = ["portal", "portal_factory"]

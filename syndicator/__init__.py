"""syndicator: repost compliance, interpretation/rebuttal pushes and response clocks for
Chinese government websites and new-media accounts."""

__version__ = "0.1.0"

__all__ = ["__version__"]

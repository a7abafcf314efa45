"""Shared fakes for the tests: portal simulators, clocks and the like."""

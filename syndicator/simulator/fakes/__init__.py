"""Offline fakes of the platforms the channel adapters post to, as ASGI applications.

Each module holds one platform's fake (``weibo`` …), faithful to the wire contract in
``docs/channel-contracts.md``; serve one with
:class:`~syndicator.simulator.server.SimulatorServer` (``SimulatorServer(app=FakeWeibo())``).
"""

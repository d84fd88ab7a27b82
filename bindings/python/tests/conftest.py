"""Shared fixtures: pairs of started nodes on a fresh in-process network."""

import itertools

import pytest

import zts

_ids = itertools.count()


@pytest.fixture
def pair():
    """(server node, client node, server address) on their own segment."""
    segment = "mem:py-%d" % next(_ids)
    with zts.Node() as a, zts.Node() as b:
        for node, cidr in ((a, "10.77.0.1/24"), (b, "10.77.0.2/24")):
            node.add_address(node.join(segment), cidr)
            node.start()
        yield a, b, "10.77.0.1"

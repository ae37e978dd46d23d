"""The address policy: private destinations only for origins the outlet names."""

from __future__ import annotations

import pytest

from archive.outlet.config import Origin
from archive.outlet.netguard import AddressPolicy, is_restricted_address


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.5.4",
                                     "169.254.169.254", "::1", "fe80::1", "fc00::1", "0.0.0.0",
                                     "::ffff:127.0.0.1", "100.64.0.1", "224.0.0.1"])
def test_restricted_addresses(address):
    assert is_restricted_address(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700::1111", "8.8.8.8"])
def test_public_addresses(address):
    assert not is_restricted_address(address)


def fake_dns(table):
    return lambda host: table.get(host, [])


def test_named_origin_allowed_other_port_refused():
    policy = AddressPolicy({Origin("http", "127.0.0.1", 8700)}, resolver=fake_dns({}))
    assert policy.refusal_reason("http://127.0.0.1:8700/english") is None
    assert "127.0.0.1" in policy.refusal_reason("http://127.0.0.1:9/admin")
    assert policy.refusal_reason("http://169.254.169.254/latest/meta-data/") is not None
    assert policy.refusal_reason("http://localhost:8700/") is not None


def test_hostnames_resolving_to_private_addresses_are_refused():
    dns = fake_dns({"metadata.internal": ["169.254.169.254"], "news.example": ["93.184.216.34"],
                    "sneaky.example": ["93.184.216.34", "10.0.0.5"]})
    policy = AddressPolicy(set(), resolver=dns)
    assert policy.refusal_reason("https://news.example/a") is None
    assert policy.refusal_reason("http://metadata.internal/") is not None
    assert policy.refusal_reason("http://sneaky.example/") is not None

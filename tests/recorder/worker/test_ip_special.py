"""SSRF (issue 13, low): every address that is not global unicast is refused, one address
from each block of the IANA special-purpose registries (IPv4 and IPv6) and then some."""

from __future__ import annotations

import ipaddress

import pytest

from recorder.errors import FetchRefused
from recorder.fetch import address_allowed, pin
from recorder.ipspecial import SPECIAL_V4, SPECIAL_V6
from recorder.providers import Endpoint

REFUSED = [
    # IPv4 special-purpose registry
    "0.0.0.1", "10.1.2.3", "100.64.0.1", "127.0.0.1", "169.254.169.254", "172.16.5.4",
    "192.0.0.9", "192.0.0.170", "192.0.2.10", "192.31.196.1", "192.52.193.1", "192.88.99.1",
    "192.168.1.1", "192.175.48.6", "198.18.0.1", "198.51.100.7", "203.0.113.9", "224.0.0.1",
    "239.255.255.250", "240.0.0.1", "255.255.255.255",
    # IPv6 outside 2000::/3 and the special blocks inside it
    "::", "::1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a00:1",
    "64:ff9b:1::1", "100::1", "100:0:0:1::1", "fc00::1", "fd12:3456::1", "fe80::1",
    "fec0::1", "feff::1", "ff02::1", "ff0e::1", "4000::1", "2001::1", "2001:2::1",
    "2001:3::1", "2001:4:112::1", "2001:10::1", "2001:20::1", "2001:30::1", "2001:db8::1",
    "2002:808:808::1", "2002:a00:1::1", "2620:4f:8000::1", "3fff::1", "5f00::1",
    "fe80::1%eth0",
]  # fmt: skip
ALLOWED = [
    "8.8.8.8", "1.1.1.1", "34.120.0.1", "2606:4700:4700::1111", "2a00:1450:4001:81d::200e",
    "::ffff:808:808", "64:ff9b::808:808",  # mapped and NAT64: judged by the IPv4 inside
]  # fmt: skip


@pytest.mark.parametrize("address", REFUSED)
def test_every_special_purpose_address_is_refused(address: str) -> None:
    assert not address_allowed(address, allow_loopback=False)


@pytest.mark.parametrize("address", ALLOWED)
def test_global_unicast_addresses_are_allowed(address: str) -> None:
    assert address_allowed(address, allow_loopback=False)


def test_every_block_of_the_tables_is_covered_by_a_refused_address() -> None:
    refused = [ipaddress.ip_address(a.split("%")[0]) for a in REFUSED]
    for block in (*SPECIAL_V4, *SPECIAL_V6):
        assert any(ip.version == block.version and ip in block for ip in refused), block


@pytest.mark.parametrize("address", ["fec0::1", "3fff::1", "192.88.99.1", "2002:808:808::1"])
def test_a_resolver_answering_a_special_address_is_refused_before_any_connection(
    address: str,
) -> None:
    with pytest.raises(FetchRefused, match="refused address"):
        pin(Endpoint("api.twilio.com"), lambda host, port: [address], allow_loopback=False)

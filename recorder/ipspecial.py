"""Which IP addresses are global unicast: the address half of the outbound media policy.

One job: say whether a resolved provider address may be connected to. Python's
``ipaddress.is_global`` alone is not enough (3.11 calls deprecated site-local
``fec0::/10``, the documentation prefix ``3fff::/20``, AS112 anycast and multicast
``ff02::1`` "global"), so the rule is explicit and checked against the IANA
special-purpose address registries (IPv4: RFC 6890 and the registry as of 2024; IPv6:
the same, with RFC 9637 and RFC 9602):

- **IPv4**: not in any block of :data:`SPECIAL_V4` (this network, private, shared CGNAT,
  loopback, link-local including the cloud metadata address, IETF protocol assignments,
  documentation, AS112 and AMT anycast, deprecated 6to4 relays, benchmarking, reserved,
  multicast, broadcast) and ``is_global``.
- **IPv6**: inside ``2000::/3`` (the only global unicast space IANA allocates from), not in
  any block of :data:`SPECIAL_V6` (IETF protocol assignments ``2001::/23`` with Teredo,
  ORCHID, benchmarking; documentation ``2001:db8::/32`` and ``3fff::/20``; 6to4
  ``2002::/16``; AS112 ``2620:4f:8000::/48``; SRv6 SIDs ``5f00::/16``), no zone index, and
  ``is_global``. Everything outside ``2000::/3`` (loopback, unspecified, IPv4-mapped,
  NAT64, discard, ULA ``fc00::/7``, link-local, site-local ``fec0::/10``, multicast) is
  refused by that first rule; IPv4-mapped and NAT64 addresses are judged by the IPv4
  address they carry (``recorder.fetch`` unwraps them first, and refuses 6to4 and Teredo).

A new special-purpose block is one line in a table here; ``tests/recorder/worker/
test_s1_ssrf.py`` holds an address from every block.
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

SPECIAL_V4 = tuple(
    ipaddress.IPv4Network(block)
    for block in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.31.196.0/24", "192.52.193.0/24",
        "192.88.99.0/24", "192.168.0.0/16", "192.175.48.0/24", "198.18.0.0/15",
        "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
        "255.255.255.255/32",
    )
)  # fmt: skip
GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
SPECIAL_V6 = tuple(
    ipaddress.IPv6Network(block)
    for block in (
        "2001::/23", "2001:db8::/32", "2002::/16", "2620:4f:8000::/48", "3fff::/20",
        "5f00::/16",
    )
)  # fmt: skip


def is_global_unicast(ip: IPAddress) -> bool:
    """True if ``ip`` is a global unicast address under the rules above."""
    if isinstance(ip, ipaddress.IPv4Address):
        return ip.is_global and not any(ip in block for block in SPECIAL_V4)
    if ip.scope_id is not None or ip not in GLOBAL_UNICAST_V6:
        return False
    return ip.is_global and not any(ip in block for block in SPECIAL_V6)

"""Who may send images to the receiver: the association policy (calling and called AE titles,
peer addresses), decided before any image is accepted.

A DICOM node identifies itself by its Application Entity (AE) title; a PACS accepts images only
from the modalities registered with it, and only when they address it by its own AE title.
`AssociationPolicy.decide` is that check as a pure function: the receiver calls it when an
A-ASSOCIATE-RQ arrives and, when it returns a `Rejection`, answers with an A-ASSOCIATE-RJ
carrying the result, source and reason of DICOM PS3.8 §9.3.4 (Table 9-21):

=====================================  ======  ======  ======
why                                    result  source  reason
=====================================  ======  ======  ======
called AE title is not ours            1       1       7 (called-AE-title-not-recognized)
calling AE title not on the allow-list 1       1       3 (calling-AE-title-not-recognized)
address not on the address allow-list  1       1       1 (no-reason-given)
=====================================  ======  ======  ======

(result 1 = rejected-permanent: retrying will not help; source 1 = DICOM UL service-user.)

Default (no allow-list given): programs on this computer (loopback addresses) may send with any
AE title, every other address is refused. The receiver listens on 127.0.0.1 by default, so a
first test on one computer works without configuration; once it is opened to the network a
scanner must be named (``--allow-ae CT_ROOM1``) or every sender explicitly allowed
(``--allow-ae ANY``). See docs/security.md.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["ANY", "AssociationPolicy", "Rejection", "parse_ae_title", "parse_host"]

ANY = "ANY"  # the allow-list keyword "every calling AE title" (reserved, upper-case)

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# PS3.8 Table 9-21: A-ASSOCIATE-RJ result / source / reason
_PERMANENT = 0x01
_SERVICE_USER = 0x01
_NO_REASON = 0x01
_CALLING_AE_NOT_RECOGNISED = 0x03
_CALLED_AE_NOT_RECOGNISED = 0x07


def parse_ae_title(text: str) -> str:
    """A valid AE title (PS3.5 Table 6.2-1, VR AE): 1-16 characters, no backslash or control
    characters; leading and trailing spaces are not significant and are removed.

    Raises
    ------
    ValueError
        With a sentence saying what is wrong.
    """
    title = str(text).strip(" ")
    if not title:
        raise ValueError("an AE title cannot be empty")
    if len(title) > 16:
        raise ValueError(f"{title!r} is longer than the 16 characters an AE title may have")
    if "\\" in title or any(ord(c) < 32 or ord(c) > 126 for c in title):
        raise ValueError(f"{title!r}: an AE title has printable ASCII characters only, "
                         "no backslash")
    return title


def parse_host(text: str) -> IpNetwork:
    """An address (``10.1.2.3``, ``fe80::1``) or a network (``10.1.2.0/24``).

    Host names are not accepted: a name can resolve to another address tomorrow, and the
    check must not depend on a DNS server. Raises ValueError with a sentence.
    """
    try:
        return ipaddress.ip_network(str(text).strip(), strict=False)
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address or network (e.g. 10.1.2.3 or "
                         "10.1.2.0/24); host names are not accepted") from None


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        addr = ipaddress.ip_address(str(text).split("%")[0])
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped  # ::ffff:10.1.2.3 from a dual-stack socket is 10.1.2.3
    return addr


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why an association is refused, and the A-ASSOCIATE-RJ fields that say so (PS3.8)."""

    result: int
    source: int
    reason: int
    why: str


@dataclass(frozen=True)
class AssociationPolicy:
    """Which associations the receiver accepts.

    Parameters
    ----------
    ae_title : str
        Our AE title: the called AE title of every request must equal it (after removing the
        non-significant spaces; AE titles are compared case-sensitively, as PS3.5 defines them).
    allowed_ae_titles : iterable of str, optional
        Calling AE titles allowed to send. ``ANY`` allows every title. ``None`` (default):
        every title, but from loopback addresses (this computer) only.
    allowed_hosts : iterable of str, optional
        Addresses or networks (``10.1.2.0/24``) allowed to connect, in addition to the AE
        title check. Empty (default): any address the AE title rule allows.
    """

    ae_title: str
    allowed_ae_titles: frozenset[str] | None = None
    allowed_hosts: tuple[IpNetwork, ...] = ()

    @classmethod
    def build(cls, ae_title: str, allowed_ae_titles: Iterable[str] | None = None,
              allowed_hosts: Iterable[str] = ()) -> "AssociationPolicy":
        """Validate the titles and addresses (ValueError with a sentence) and build."""
        titles = None if allowed_ae_titles is None else frozenset(
            ANY if str(t).strip().upper() == ANY else parse_ae_title(t)
            for t in allowed_ae_titles)
        return cls(parse_ae_title(ae_title), titles or None,
                   tuple(parse_host(h) for h in allowed_hosts))

    @property
    def accepts_any_ae(self) -> bool:
        return self.allowed_ae_titles is not None and ANY in self.allowed_ae_titles

    def describe(self) -> str:
        """One sentence for the start-up message and the log."""
        if self.allowed_ae_titles is None:
            who = "any AE title from this computer only (no --allow-ae given)"
        elif self.accepts_any_ae:
            who = "any AE title (--allow-ae ANY)"
        else:
            who = "AE titles " + ", ".join(sorted(self.allowed_ae_titles))
        if self.allowed_hosts:
            who += " from " + ", ".join(str(h) for h in self.allowed_hosts)
        return f"accepting {who}, addressed to {self.ae_title}"

    def decide(self, calling_ae: str, called_ae: str, address: str) -> Rejection | None:
        """None to accept the association, else the `Rejection` to send.

        Parameters
        ----------
        calling_ae, called_ae : str
            The AE titles of the A-ASSOCIATE-RQ (spaces around them are not significant).
        address : str
            The peer's IP address as the socket reports it.
        """
        calling, called = str(calling_ae).strip(" "), str(called_ae).strip(" ")
        if called != self.ae_title:
            return Rejection(_PERMANENT, _SERVICE_USER, _CALLED_AE_NOT_RECOGNISED,
                             f"it addressed the AE title {called!r}, ours is {self.ae_title!r}")
        addr = _address(address)
        if self.allowed_ae_titles is None:
            if addr is None or not addr.is_loopback:
                return Rejection(_PERMANENT, _SERVICE_USER, _CALLING_AE_NOT_RECOGNISED,
                                 "no calling AE title is allowed from the network yet: add "
                                 f"--allow-ae {calling or '<AE title>'}")
        elif not self.accepts_any_ae and calling not in self.allowed_ae_titles:
            return Rejection(_PERMANENT, _SERVICE_USER, _CALLING_AE_NOT_RECOGNISED,
                             "its calling AE title is not on the allow-list")
        if self.allowed_hosts and (addr is None or not any(
                addr.version == net.version and addr in net for net in self.allowed_hosts)):
            return Rejection(_PERMANENT, _SERVICE_USER, _NO_REASON,
                             "its address is not on the address allow-list")
        return None

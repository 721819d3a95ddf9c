"""Known, understood differences between our output and heifip 1.1.1 (variant "zero", i.e. with
constant addresses).  test_parity.py fails on any divergence that is NOT listed here, and on any
entry here that no longer diverges, so this table always describes the present state.

Key: (corpus id, mode, packet index) -> reason.
  corpus id    "heifip-tests/<path>" (../shared/pcaps/heifip-tests) or "debian/<pkg>/<file>"
               (.cache/debian-pcaps, tests/data/fetch_debian_pcaps.sh)
  mode         "NONE" or "HEADER"
  packet index 0-based index into the packets 1.1.1 returns for the file; the images built from
               that packet (and the flow images of the file) may differ too.  None means the packet
               list as a whole (count or error) differs; then every image of that file and mode
               may differ.
The reason cites reference-semantics.md where it can.  Only divergences whose cause is understood
belong here.
"""

KNOWN_DIVERGENCES = {
}

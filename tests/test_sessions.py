"""heifip.flows / heifip.extract on hand-built captures whose sessions are known."""
import struct

import numpy as np
import pytest

import heifip
from heifip.errors import CaptureDamageWarning, HeifipError
from heifip.extractor import FIPExtractor
from heifip.images.flow import FlowImage

from pcapgen import IP_A, IP_B, MAC_A, MAC_B, ether, ipv4, ipv6, tcp, udp, write_pcap

IP_C = bytes([10, 0, 0, 3])
SYN, SYNACK, ACK, FINACK = 0x02, 0x12, 0x10, 0x11


def c2s(flags, sport=40000, dport=80):
    return ether(ipv4(tcp(sport=sport, dport=dport, flags=flags)))


def s2c(flags, sport=40000, dport=80):
    return ether(ipv4(tcp(sport=dport, dport=sport, flags=flags), src=IP_B, dst=IP_A),
                 dst=MAC_A, src=MAC_B)


def vlan_udp():
    tag = struct.pack("!HH", 5, 0x0800)
    inner = ipv4(udp(b"v", sport=7000, dport=7001), proto=17)
    return MAC_B + MAC_A + struct.pack("!H", 0x8100) + tag + inner


QUERY = ether(ipv4(udp(b"q" * 12, sport=5000, dport=53), dst=IP_C, proto=17))
REPLY = ether(ipv4(udp(b"r" * 12, sport=53, dport=5000), src=IP_C, dst=IP_A, proto=17))
V6_SYN = ether(ipv6(tcp(sport=1234, dport=443, flags=SYN)), ethertype=0x86DD)
ARP = ether(bytes(28), ethertype=0x0806)

RECORDS = [c2s(SYN), QUERY, s2c(SYNACK), V6_SYN, c2s(ACK), REPLY, c2s(FINACK), s2c(FINACK),
           c2s(ACK), c2s(SYN), vlan_udp(), s2c(SYNACK), ARP]


@pytest.fixture
def capture(tmp_path):
    return write_pcap(tmp_path / "mixed.pcap", RECORDS)


def summary(flows):
    return [(f.meta.first_record, f.meta.packets, f.meta.end) for f in flows]


def test_sessions_in_documented_order(capture):
    got = list(heifip.flows(capture, anonymize="keep"))
    # A completes at its final ACK (record 8); the rest at the end of input, by first record
    assert summary(got) == [(0, 6, "fin"), (1, 2, "end_of_input"), (3, 1, "end_of_input"),
                            (9, 2, "end_of_input"), (10, 1, "end_of_input")]
    a, b, c, a2, v = (f.meta for f in got)
    assert (a.src, a.sport, a.dst, a.dport, a.protocol) == ("10.0.0.1", 40000, "10.0.0.2", 80, 6)
    assert (b.src, b.sport, b.dst, b.dport, b.protocol) == ("10.0.0.1", 5000, "10.0.0.3", 53, 17)
    assert c.family == 6 and c.src == "2001:db8::1" and c.dport == 443
    assert (a2.sport, a2.dport) == (40000, 80)      # the reused 5-tuple is a new session
    assert v.sport == 7000 and v.dport == 7001       # VLAN-tagged
    assert a.packets == a.kept_packets == 6 and a.bytes == 6 * 54
    assert a.first_timestamp_ns == 1_700_000_000 * 10**9
    assert a.last_timestamp_ns == 1_700_000_008 * 10**9


def test_unidirectional_flows(capture):
    got = list(heifip.flows(capture, split="flow", anonymize="keep"))
    assert summary(got) == [(2, 2, "fin"), (0, 4, "fin"), (1, 1, "end_of_input"),
                            (3, 1, "end_of_input"), (5, 1, "end_of_input"), (9, 1, "end_of_input"),
                            (10, 1, "end_of_input"), (11, 1, "end_of_input")]


def test_file_split_is_1_1_1(capture):
    [only] = list(heifip.flows(capture, split="file", anonymize="zero"))
    assert only.meta.packets == len(RECORDS)
    assert only.packets == FIPExtractor(anonymize="zero", packet_limit=0).packets_from_file(capture)


def test_idle_timeout_splits_and_none_disables(tmp_path):
    start = 1_700_000_000
    frames = [(QUERY, start), (QUERY, start + 1), (QUERY, start + 500)]
    path = write_pcap(tmp_path / "idle.pcap", frames)
    assert summary(heifip.flows(path)) == [(0, 2, "idle"), (2, 1, "end_of_input")]
    assert summary(heifip.flows(path, idle_timeout=None)) == [(0, 3, "end_of_input")]
    assert summary(heifip.flows(path, idle_timeout=None, active_timeout=100)) == \
        [(0, 2, "active"), (2, 1, "end_of_input")]


def test_min_and_max_packets(capture):
    assert [f.meta.first_record for f in heifip.flows(capture, min_packets=2)] == [0, 1, 9]
    a = next(iter(heifip.flows(capture, max_packets=2)))
    assert a.meta.packets == 6 and a.meta.kept_packets == 2 and len(a.packets) == 2


def test_bpf_filter(capture):
    # libpcap semantics: "udp" does not match 802.1Q-tagged frames, "vlan and udp" does
    assert [f.meta.first_record for f in heifip.flows(capture, bpf="udp")] == [1]
    assert [f.meta.first_record for f in heifip.flows(capture, bpf="vlan and udp")] == [10]
    assert [f.meta.first_record for f in heifip.flows(capture, bpf="ip6")] == [3]
    with pytest.raises(ValueError) as info:
        list(heifip.flows(capture, bpf="tcp port"))
    assert "tcp port" in str(info.value)


def test_flow_images_equal_1_1_1_on_the_cut_out_session(capture, tmp_path):
    """Each session's FlowImage equals the one the 1.1.1 path makes from a file holding only
    that session's records."""
    sessions = {0: [0, 2, 4, 6, 7, 8], 1: [1, 5], 3: [3], 9: [9, 11], 10: [10]}
    got = {meta.first_record: image
           for image, meta in heifip.extract(capture, image="flow", anonymize="zero", dim=16)}
    assert sorted(got) == sorted(sessions)
    for first, records in sessions.items():
        cut = write_pcap(tmp_path / f"s{first}.pcap", [RECORDS[i] for i in records])
        [expected] = FIPExtractor(anonymize="zero").create_image_from_file(
            cut, "NONE", FlowImage, 0, 0, 0, 0, False, 16)
        assert np.array_equal(got[first], expected), first


def test_tiled_images_keep_only_what_they_need(capture):
    images = list(heifip.extract(capture, image="flow-tiled-fixed", dim=4, cols=1,
                                 anonymize="zero"))
    assert [img.shape for img, _ in images] == [(4, 4)] * 5
    first, meta = images[0]
    assert meta.kept_packets == 1 and meta.packets == 6   # cols^2 = 1 packet kept of 6
    assert first.tolist() == [[0] * 4, [0] * 4, [0] * 4, [8, 0, 0x45, 0]]


def test_per_packet_images_with_split(capture):
    got = list(heifip.extract(capture, image="packet", anonymize="zero", dim=2))
    assert len(got) == 12                   # every IP packet (the ARP frame is not IP)
    assert [m.first_record for _, m in got[:6]] == [0] * 6


def test_names_are_unique_and_anonymised(capture):
    names = [f.meta.name for f in heifip.flows(capture)]
    assert len(set(names)) == len(names)
    assert not any("10.0.0" in n for n in names)
    kept = [f.meta.name for f in heifip.flows(capture, anonymize="keep")]
    assert kept[0] == "000000000_tcp_10.0.0.1_40000_10.0.0.2_80"


def test_missing_and_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        list(heifip.flows(tmp_path / "missing.pcap"))
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"not a capture at all")
    with pytest.raises(HeifipError):
        list(heifip.flows(bad))
    with pytest.raises(ValueError):
        list(heifip.flows(bad, split="sessions"))


def test_filter_that_does_not_fit_the_link_type(tmp_path):
    from heifip.errors import FilterError
    raw_ip = write_pcap(tmp_path / "raw.pcap", [ipv4(udp(b"x"), proto=17)], linktype=101)
    with pytest.raises(FilterError) as info:
        list(heifip.flows(raw_ip, bpf="ether host 02:00:00:00:00:01"))
    assert "raw.pcap" in str(info.value) and "record 0" in str(info.value)
    assert [f.meta.packets for f in heifip.flows(raw_ip, bpf="udp")] == [1]


def test_meta_is_filled_in_c_read_only_and_picklable(capture):
    import copy
    import pickle
    from heifip.sessions import FlowMeta
    flows = list(heifip.flows(capture, anonymize="keep"))
    meta = flows[0].meta
    assert type(meta) is FlowMeta and meta.source == str(capture)
    assert (meta._src, meta._dst) == (bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    with pytest.raises(AttributeError):
        meta.packets = 1
    for clone in (pickle.loads(pickle.dumps(meta)), copy.copy(meta)):
        assert clone == meta and clone.name == meta.name and clone.end == "fin"
    assert meta != flows[1].meta
    # FlowMeta(source, values) takes the 15 fields in the documented order
    built = FlowMeta("x.pcap", (4, 17, b"\x01\x02\x03\x04", 53, b"\x05\x06\x07\x08", 5353, 10,
                                20, 3, 300, 2, 7, 9, "idle", 4))
    assert (built.src, built.dst, built.duration_ns, built.end, built.index) == \
        ("1.2.3.4", "5.6.7.8", 10, "idle", 4)
    assert built.name == "000000007_udp_1.2.3.4_53_5.6.7.8_5353"
    for bad in ((4, 17, b"\x01\x02\x03", 53, b"\x05\x06\x07\x08", 1, 0, 0, 1, 1, 1, 0, 0,
                 "fin", 0),                                       # a 3-byte IPv4 address
                (4, 17, b"\x01\x02\x03\x04", 53, b"\x05\x06\x07\x08", 1, 0, 0, 1, 1, 1, 0, 0,
                 "done", 0)):                                     # an unknown end reason
        with pytest.raises(ValueError):
            FlowMeta("x.pcap", bad)


def test_pseudonyms_in_meta_are_the_consistent_ones(capture):
    """random/consistent metadata give the keyed (consistent) pseudonym: the same for both
    modes and seeds equal, different for another seed, never the original address."""
    def endpoints(**kw):
        return [(f.meta.src, f.meta.dst) for f in heifip.flows(capture, **kw)]
    random0 = endpoints(anonymize="random", seed=0)
    assert random0 == endpoints(anonymize="consistent", seed=0)
    assert random0 != endpoints(anonymize="random", seed=1)
    assert random0[0][0] != "10.0.0.1" and random0[0][0] == random0[3][0]  # A's two sessions
    assert endpoints(anonymize="zero")[0] == ("0.0.0.0", "0.0.0.0")


def test_extract_renders_what_flows_hold(capture):
    """extract() (rendered inside the C reader) equals the 1.1.1 image classes made from the
    packets flows() yields, for every image kind; verify()'s min dim drops the same images."""
    from heifip.images import bind_image_arguments
    from heifip.sessions import IMAGE_NAMES
    for name, image_type in IMAGE_NAMES.items():
        options = {"dim": 4} if "dim" in dict(image_type._parameters) else {}
        bound = bind_image_arguments(image_type, (), options)
        expected = []
        for flow in heifip.flows(capture, anonymize="zero"):
            if image_type._per_packet:
                expected += [(image_type(p, **bound).matrix, flow.meta.first_record)
                             for p in flow.packets]
            else:
                expected.append((image_type(flow.packets, **bound).matrix,
                                 flow.meta.first_record))
        got = [(a, m.first_record)
               for a, m in heifip.extract(capture, image=name, anonymize="zero", **options)]
        assert len(got) == len(expected) > 0, name
        for (a, first_a), (b, first_b) in zip(got, expected):
            assert first_a == first_b and a.dtype == b.dtype and np.array_equal(a, b), name
    # a FlowImage has one row per packet: min_image_dim=2 drops the two 1-packet flows
    rows = [img.shape[0] for img, _ in heifip.extract(capture, image="flow", anonymize="zero",
                                                       min_image_dim=2)]
    assert rows == [6, 2, 2]


def test_tiled_fixed_arrays_are_fresh_and_verify_is_applied(capture):
    """FlowImageTiledFixed has one shape for every flow, so the reader allocates each array
    before its flow is found: every image still gets its own array, and verify() (all or none
    for a fixed shape) still applies."""
    flows = list(heifip.flows(capture, anonymize="zero"))
    got = list(heifip.extract(capture, image="flow-tiled-fixed", anonymize="zero", dim=4, cols=2))
    assert [m.first_record for _, m in got] == [f.meta.first_record for f in flows]
    arrays = [a for a, _ in got]
    assert all(a.shape == (8, 8) and a.dtype == np.uint8 and a.flags.owndata for a in arrays)
    assert len({id(a) for a in arrays}) == len(arrays)           # no array is reused
    assert not any(np.shares_memory(a, b) for i, a in enumerate(arrays) for b in arrays[i + 1:])
    # tile 0, row 3: bytes 12..15 of the first packet (ethertype 0800, IPv4 0x45 0x00)
    assert bytes(arrays[0][3, :4]) == bytes(flows[0].packets[0][12:16]) == b"\x08\x00\x45\x00"
    for low, high, n in ((8, 0, len(flows)), (9, 0, 0), (0, 7, 0), (0, 8, len(flows))):
        assert len(list(heifip.extract(capture, image="flow-tiled-fixed", anonymize="zero",
                                       dim=4, cols=2, min_image_dim=low,
                                       max_image_dim=high))) == n, (low, high)


def test_per_packet_images_share_their_flows_meta(capture):
    got = list(heifip.extract(capture, image="packet", anonymize="zero", dim=4))
    flows = list(heifip.flows(capture, anonymize="zero"))
    assert len(got) == sum(len(f.packets) for f in flows)
    at = 0
    for flow in flows:
        metas = [m for _, m in got[at:at + len(flow.packets)]]
        assert all(m is metas[0] for m in metas)
        assert metas[0].first_record == flow.meta.first_record
        at += len(flow.packets)


@pytest.mark.parametrize("tiled", [False, True])
def test_one_flow_reader_from_two_threads(tmp_path, tiled):
    """A FlowReader runs its job without the GIL; a second thread's __next__ meanwhile raises
    ValueError (as a generator already executing does) instead of touching the job.  Retrying
    threads together get every flow exactly once -- also when the reader renders fixed-shape
    images in batches."""
    import threading
    from heifip import _core
    from heifip.images.flow_tiled_fixed import FlowImageTiledFixed
    from heifip.sessions import _readers, bind_image_arguments, render_arguments
    image = None
    if tiled:
        image = dict(kind=FlowImageTiledFixed._kind, min_dim=0, max_dim=0, **render_arguments(
            bind_image_arguments(FlowImageTiledFixed, (), {"dim": 4, "cols": 2})))
    records = [(ether(ipv4(udp(bytes(i % 7), sport=1000 + i % 100, dport=53), proto=17)),
                1_700_000_000 + i / 1000) for i in range(20000)]   # 100 flows within 20 s
    path = write_pcap(tmp_path / "many.pcap", records)

    def reader():
        [(_, r)] = _readers(str(path), "session", "NONE", None, 300.0, 1800.0, 0, 0, None,
                            _core.DEFAULT_MAX_MEMORY_BYTES, False, "zero", 0, 0, image)
        return r
    serial = [m.first_record for _, m in reader()]
    assert len(serial) == 100
    shared, got, refused = reader(), [], []

    def drain():
        while True:
            try:
                _, meta = next(shared)
            except StopIteration:
                return
            except ValueError as error:
                refused.append(str(error))
                continue
            got.append(meta.first_record)
    threads = [threading.Thread(target=drain) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == sorted(serial)
    assert all(r == "FlowReader already executing in another thread" for r in refused)


@pytest.mark.parametrize("dim, cols", [(4, 2), (64, 8)])
def test_tiled_fixed_images_come_in_batches_but_the_end_after_them(tmp_path, dim, cols):
    """The fixed-shape reader renders up to eight images per GIL release (FIXED_SHAPE_BATCH; one
    when an image is 256 KiB, as 512x512 is): its items are still each flow's own image in
    emission order, and the job's end -- here the damage of a cut last record -- becomes
    visible only once every image before it is out."""
    from heifip import _core
    from heifip.images.flow_tiled_fixed import FlowImageTiledFixed
    from heifip.sessions import _readers, bind_image_arguments, render_arguments
    records = [(ether(ipv4(udp(bytes([i]) * (i % 5 + 1), sport=2000 + i % 19, dport=53),
                           proto=17)), 1_700_000_000 + i / 100) for i in range(190)]
    path = tmp_path / "cut.pcap"
    write_pcap(path, records)
    with open(path, "r+b") as f:          # the last record loses 3 of its bytes
        f.truncate(len(f.read()) - 3)
    with pytest.warns(CaptureDamageWarning, match="record 189"):
        flows = list(heifip.flows(str(path), anonymize="zero"))
    assert len(flows) == 19               # three batches: 8 + 8 + 3
    image = dict(kind=FlowImageTiledFixed._kind, min_dim=0, max_dim=0, **render_arguments(
        bind_image_arguments(FlowImageTiledFixed, (), {"dim": dim, "cols": cols})))
    [(_, reader)] = _readers(str(path), "session", "NONE", None, 300.0, 1800.0, 0, 0, None,
                             _core.DEFAULT_MAX_MEMORY_BYTES, False, "zero", 0, 0, image)
    got = []
    for array, meta in reader:
        assert reader.damage is None      # the end is not reported before the last image
        got.append((array, meta.first_record))
    assert reader.damage is not None and reader.damage[0] == 189
    assert [first for _, first in got] == [f.meta.first_record for f in flows]
    for (array, _), flow in zip(got, flows):
        expected = FlowImageTiledFixed(flow.packets, dim=dim, cols=cols).matrix
        assert array.shape == (dim * cols, dim * cols) and np.array_equal(array, expected)
    assert next(reader, None) is None     # exhausted for good

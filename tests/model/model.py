# Copied verbatim from ../shared/docs/reference-semantics.md, Appendix A: a pure-bytes model of
# heifip 1.1.1 per-packet processing, used as a test oracle for unit cases (97.5 % exact on the corpus).
"""Pure-bytes model of heifip 1.1.1 per-packet processing (NONE and HEADER).
Layer chain = list of dicts {cls, off, hlen}; last layer may be Raw (payload).
Randomised addresses are written as sentinels (MAC aa*6, IPv4 170.170.170.170, IPv6 aaaa*8)."""
import struct, re
MAC_S = b'\xaa'*6; IP4_S = bytes([170]*4); IP6_S = b'\xaa'*16

class Unsupported(Exception): pass

TCP_TABLE = [ # (key, port, cls) in scapy payload_guess order (heifip import set)
 ('d',53,'DNS'),('s',53,'DNS'),('s',88,'KRB'),('d',88,'KRB'),('s',135,'DCE'),('d',135,'DCE'),
 ('d',389,'LDAP'),('s',389,'LDAP'),('d',3268,'LDAP'),('s',3268,'LDAP'),('d',445,'NBT'),('s',445,'NBT'),
 ('d',139,'NBT'),('s',139,'NBT'),('s',1723,'PPTP'),('d',1723,'PPTP'),('d',2000,'SKINNY'),('s',2000,'SKINNY'),
 ('s',80,'HTTP'),('d',80,'HTTP'),('s',8080,'HTTP'),('d',8080,'HTTP'),('s',443,'TLS'),('d',443,'TLS')]
UDP_TABLE = [('d',5353,'DNS'),('s',5353,'DNS'),('d',53,'DNS'),('s',53,'DNS'),('s',88,'KRB'),('d',88,'KRB'),
 ('p',(68,67),'BOOTP'),('p',(67,68),'BOOTP'),('p',(67,67),'BOOTP'),('d',547,'DHCP6'),('d',546,'DHCP6'),
 ('d',1985,'HSRP'),('s',1985,'HSRP'),('d',2029,'HSRP'),('s',2029,'HSRP'),('d',4500,'ESP'),('s',4500,'ESP'),
 ('d',500,'ISAKMP'),('s',500,'ISAKMP'),('d',1701,'L2TP'),('s',1701,'L2TP'),('d',389,'CLDAP'),('s',389,'CLDAP'),
 ('d',5355,'LLMNR'),('s',5355,'LLMNR'),('d',2727,'MGCP'),('s',2727,'MGCP'),('d',434,'MIP'),('s',434,'MIP'),
 ('d',137,'NBNS'),('s',137,'NBNS'),('d',138,'Raw'),('d',2055,'NETFLOW'),('s',2055,'NETFLOW'),('d',2056,'NETFLOW'),
 ('s',2056,'NETFLOW'),('d',9995,'NETFLOW'),('s',9995,'NETFLOW'),('d',9996,'NETFLOW'),('s',9996,'NETFLOW'),
 ('d',6343,'NETFLOW'),('s',6343,'NETFLOW'),('s',123,'NTP'),('d',123,'NTP'),('s',1812,'RADIUS'),('d',1812,'RADIUS'),
 ('s',1813,'RADIUS'),('d',1813,'RADIUS'),('s',3799,'RADIUS'),('d',3799,'RADIUS'),('d',520,'RIP'),('s',520,'RIP'),
 ('s',161,'SNMP'),('d',161,'SNMP'),('s',162,'SNMP'),('d',162,'SNMP'),('d',69,'TFTP'),('d',4789,'VXLAN'),
 ('d',4790,'VXLAN'),('d',6633,'VXLAN'),('d',8472,'VXLAN'),('d',48879,'VXLAN'),('s',4789,'VXLAN'),('s',4790,'VXLAN'),
 ('s',6633,'VXLAN'),('s',8472,'VXLAN'),('s',17754,'ZEP2')]

def port_class(table, sp, dp):
    for k, v, c in table:
        if (k == 'd' and dp == v) or (k == 's' and sp == v) or (k == 'p' and (sp, dp) == v):
            return c
    return 'Raw'

H2_TYPES = set(range(10))
def looks_h2(p):
    if len(p) < 9: return False
    while p:
        if len(p) < 9 or p[3] not in H2_TYPES: return False
        ln = int.from_bytes(p[:3], 'big') + 9
        if ln > len(p): return False
        if int.from_bytes(p[5:9], 'big') >> 31: return False
        p = p[ln:]
    return True

REQ_RE = re.compile(br"^(?:OPTIONS|GET|HEAD|POST|PUT|DELETE|TRACE|CONNECT) (?:.+?) HTTP/\d\.\d$")
RESP_RE = re.compile(br"^HTTP/\d\.\d \d\d\d .*$")

def dns_get_str(s, p):
    """returns (name, end) ; s = DNS message without the 12-byte header (scapy convention)"""
    name = b''; after = None; seen = []; full = s
    while True:
        if abs(p) >= len(s): break
        cur = s[p]; p += 1
        if cur & 0xc0:
            if after is None: after = p + 1
            if p >= len(s): break
            p = ((cur & ~0xc0 & 0xff) << 8) + s[p] - 12
            if p in seen: break
            seen.append(p); continue
        elif cur > 0:
            name += s[p:p+cur] + b'.'; p += cur
        else: break
    if after is not None: p = after
    return name, p

def dns_encode(x):
    if not x or x == b'.': return b'\x00'
    x = b''.join(bytes([len(y)]) + y for y in (k[:63] for k in x.split(b'.')))
    if x[-1:] != b'\x00': x += b'\x00'
    return x

def parse_dns(msg, over_tcp):
    """msg = transport payload (excluding padding). Returns dict or None (=> scapy Raw)."""
    s = msg
    if over_tcp:
        if len(s) < 2: return None
        dl = int.from_bytes(s[:2], 'big')
        if dl < 14 or len(s) < dl: return None
        s = s[2:]
    if len(s) < 12: return None
    hdr = s[:12]; body = s[12:]
    counts = struct.unpack('!HHHH', hdr[4:12])
    secs = []; p = 0; raw_inside = False
    for si, c in enumerate(counts):
        recs = None
        if c > len(body):
            secs.append(('empty', [])); continue
        recs = []
        while c:
            c -= 1
            name, p = dns_get_str(body, p)
            if si == 0:
                fix = body[p:p+4]
                if len(fix) < 4: return None
                recs.append((name, int.from_bytes(fix[:2], 'big'))); p += 4
            else:
                fix = body[p:p+10]
                if len(fix) < 10: return None
                typ, cls, ttl, rdlen = struct.unpack('!HHIH', fix); p += 10
                if len(body[p:p+rdlen]) < rdlen: raw_inside = True
                recs.append((name, typ)); p += rdlen
        secs.append(('recs' if recs else 'none', recs))
    trailing = body[p:] if p < len(body) else b''
    return dict(hdr=hdr, secs=secs, trailing=trailing, raw_inside=raw_inside)

def tcp_opts_reencode(x):
    opts = []
    while x:
        onum = x[0]
        if onum == 0: opts.append(('EOL', None)); break
        if onum == 1: opts.append(('NOP', None)); x = x[1:]; continue
        olen = x[1] if len(x) > 1 else 0
        if olen < 2: olen = 2
        opts.append((onum, x[2:olen])); x = x[olen:]
    out = b''
    for k, v in opts:
        if k == 'NOP': out += b'\x01'
        elif k == 'EOL': out += b'\x00'
        else: out += bytes([k, (2 + len(v)) & 0xff]) + v   # known kinds re-pack to the same value bytes
    return out + b'\x00' * (3 - ((len(out) + 3) % 4))

class Pkt:
    def __init__(s, data, linktype):
        s.d = data; s.L = []  # layers
        s.pad_start = len(data)  # bytes from here on are Padding (tail)
        s.lt = linktype
        s.parse()
    def add(s, cls, off, hlen, **kw):
        e = dict(cls=cls, off=off, hlen=hlen); e.update(kw); s.L.append(e); return e
    def parse(s):
        d = s.d; lt = s.lt
        if lt == 1:
            if len(d) < 14: raise Unsupported('short ether')
            t = int.from_bytes(d[12:14], 'big')
            if t <= 1500: s.add('Dot3', 0, len(d)); return
            s.add('Ether', 0, 14); s.ethertype(t, 14)
        elif lt == 0:
            af = d[0] if d else 0; s.add('Loopback', 0, 4)   # scapy LoIntEnumField: first byte only
            if af in (0, 2): s.ip4(4)
            elif af == 10: s.ip6(4)
            else: s.raw(4)
        elif lt in (101, 12, 14):
            if d and d[0] >> 4 == 6: s.ip6(0)
            else: s.ip4(0)
        elif lt == 113:
            s.add('SLL', 0, 16); s.ethertype(int.from_bytes(d[14:16], 'big'), 16, sll=True)
        elif lt == 276:
            s.add('SLL2', 0, 20); s.ethertype(int.from_bytes(d[0:2], 'big'), 20, sll=True)
        else:
            s.add('Raw', 0, len(d))
    def raw(s, off, end=None):
        end = s.pad_start if end is None else end
        if off < end: s.add('Raw', off, end - off)
    def ethertype(s, t, off, sll=False):
        if t == 0x8100 or t == 0x88a8:
            if len(s.d) < off + 4: raise Unsupported('short vlan')
            s.add('Dot1Q', off, 4); return s.ethertype(int.from_bytes(s.d[off+2:off+4], 'big'), off + 4)
        if t == 0x0800: return s.ip4(off)
        if t == 0x86dd: return s.ip6(off)
        if t == 0x0806:
            s.add('ARP', off, 28 if len(s.d) >= off + 28 else len(s.d) - off)
            if len(s.d) < off + 28: raise Unsupported('short arp')
            s.pad_start = off + 28; return
        if t == 0x6558 or t == 1: raise Unsupported('inner ether')
        if t == 0x8864:
            d = s.d
            if len(d) < off + 8: raise Unsupported('short pppoe')
            s.add('PPPoE', off, 6); ln = int.from_bytes(d[off+4:off+6], 'big')
            if off + 6 + ln <= len(d): s.pad_start = min(s.pad_start, off + 6 + ln)
            pr = int.from_bytes(d[off+6:off+8], 'big'); s.add('PPP', off + 6, 2)
            if pr == 0x0021: return s.ip4(off + 8)
            if pr == 0x0057: return s.ip6(off + 8)
            raise Unsupported('ppp proto %04x' % pr)
        if t in (0x8863, 0x888e, 0x88e7, 0x8035, 0x88a4, 0xa0ed, 0x8021, 0x8053, 0x88d9, 0x8870):
            raise Unsupported('ethertype %04x' % t)
        return s.raw(off)
    def ip4(s, off):
        d = s.d
        if len(d) - off < 20: raise Unsupported('short ip4')
        ihl = d[off] & 15; tl = int.from_bytes(d[off+2:off+4], 'big')
        hl = ihl * 4
        if hl < 20 or len(d) < off + hl: raise Unsupported('ip4 ihl')
        plen = tl - hl
        if plen >= 0: s.pad_start = min(s.pad_start, off + tl) if off + tl <= len(d) else s.pad_start
        end = min(s.pad_start, len(d))
        frag = int.from_bytes(d[off+6:off+8], 'big') & 0x1fff
        proto = d[off+9]
        s.add('IP', off, hl)
        po = off + hl
        if po >= end: return
        if frag == 0 and proto == 6: return s.tcp(po, end)
        if frag == 0 and proto == 17: return s.udp(po, end)
        if frag == 0 and proto == 1: return s.icmp(po, end)
        if frag == 0 and proto == 4: return s.ip4(po)
        if proto == 41: return s.ip6(po)
        if frag == 0 and proto == 47: return s.gre(po, end)
        if proto == 50: s.add('ESP', po, end - po); return
        if proto in (51, 132, 112): raise Unsupported('ip proto %d' % proto)
        s.raw(po, end)
    def ip6(s, off):
        d = s.d
        if len(d) - off < 40: raise Unsupported('short ip6')
        plen = int.from_bytes(d[off+4:off+6], 'big'); nh = d[off+6]
        if plen == 0 and nh == 0: raise Unsupported('jumbo?')
        if off + 40 + plen <= len(d): s.pad_start = min(s.pad_start, off + 40 + plen)
        end = s.pad_start
        s.add('IPv6', off, 40)
        po = off + 40
        while True:
            if po >= end: return
            if nh in (0, 43, 60):
                if end - po < 8: raise Unsupported('ext')
                hl = (d[po+1] + 1) * 8
                s.add({0: 'HBH', 43: 'RT', 60: 'DST'}[nh], po, hl); nh = d[po]; po += hl; continue
            if nh == 44:
                s.add('FRAG', po, 8); offs = int.from_bytes(d[po+2:po+4], 'big') >> 3; nh = d[po]; po += 8
                if offs > 0: return s.raw(po, end)
                continue
            break
        if nh == 6: return s.tcp(po, end)
        if nh == 17: return s.udp(po, end)
        if nh == 58:
            t = d[po]
            if t in (1, 2, 3, 4): raise Unsupported('icmp6 err')
            s.add('ICMPv6', po, end - po); return
        if nh == 59: return s.raw(po, end)
        if nh == 50: s.add('ESP', po, end - po); return
        if nh == 4: return s.ip4(po)
        if nh == 41: return s.ip6(po)
        raise Unsupported('ip6 nh %d' % nh)
    def gre(s, off, end):
        d = s.d
        if end - off < 4: raise Unsupported('short gre')
        f = int.from_bytes(d[off:off+2], 'big'); pr = int.from_bytes(d[off+2:off+4], 'big')
        if f & 0x4000: raise Unsupported('gre routing')
        if f & 0x7: raise Unsupported('gre ver')
        hl = 4 + (4 if f & 0xa000 else 0) + (4 if f & 0x2000 else 0) + (4 if f & 0x1000 else 0)
        s.add('GRE', off, hl)
        if pr == 0x0800: return s.ip4(off + hl)
        if pr == 0x86dd: return s.ip6(off + hl)
        raise Unsupported('gre proto %04x' % pr)
    def icmp(s, off, end):
        t = s.d[off]
        if t in (3, 4, 5, 11, 12): raise Unsupported('icmp err')
        hl = 20 if t in (13, 14) else 12 if t in (17, 18) else 8
        if end - off < hl: raise Unsupported('short icmp')
        s.add('ICMP', off, hl); s.raw(off + hl, end)
    def tcp(s, off, end):
        d = s.d
        if end - off < 20: raise Unsupported('short tcp')
        do = d[off+12] >> 4; hl = max(do, 5) * 4
        hl = min(hl, end - off)
        sp, dp = struct.unpack('!HH', d[off:off+4])
        s.add('TCP', off, hl, sport=sp, dport=dp)
        po = off + hl
        if po >= end: return
        s.app(port_class(TCP_TABLE, sp, dp), po, end, True)
    def udp(s, off, end):
        d = s.d
        if end - off < 8: raise Unsupported('short udp')
        sp, dp, ul = struct.unpack('!HHH', d[off:off+6])
        tmp = ul - 8
        pe = (off + 8 + tmp) if tmp >= 0 else (end + tmp)
        pe = min(pe, end)
        if pe < end: s.pad_start = min(s.pad_start, max(pe, off+8))
        end = min(end, s.pad_start)
        s.add('UDP', off, 8, sport=sp, dport=dp)
        if off + 8 >= end: return
        s.app(port_class(UDP_TABLE, sp, dp), off + 8, end, False)
    def app(s, c, po, end, tcp):
        P = s.d[po:end]
        if c == 'Raw': return s.raw(po, end)
        if c == 'HTTP':
            if looks_h2(P): s.add('H2', po, end - po); return
            s.add('HTTP', po, 0)
            if b'\r\n' not in P: return s.raw(po, end)
            first = P[:P.index(b'\r\n')]
            kind = 'REQ' if REQ_RE.match(first) else ('RESP' if RESP_RE.match(first) else None)
            if kind is None: return s.raw(po, end)
            i = P.find(b'\r\n\r\n')
            hdrs = P if i < 0 else P[:i+4]; body = b'' if i < 0 else P[i+4:]
            fl, rest = hdrs.split(b'\r\n', 1)
            h = {}
            for line in rest.split(b'\r\n'):
                if b':' not in line: continue
                k, v = line.split(b':', 1)
                h[k.strip().decode('latin-1').replace('-', '_').lower()] = v.strip()
            parts = re.split(br"\s+", fl.strip(), 2)
            s.add(kind, po, len(hdrs), hdr=h, first=parts if len(parts) == 3 else None)
            if body:
                if h.get('connection') and b'Upgrade' in h['connection']: s.add('H2', po + len(hdrs), len(body))
                else: s.raw(po + len(hdrs), end)
            return
        if c == 'TLS':
            if len(P) >= 2 and P[0] in (20, 21, 22, 23) and P[1] == 3 and len(P) >= 5:
                s.add('TLS', po, end - po); return
            s.add('TLSENC', po, end - po); return   # _TLSEncryptedContent / SSLv2 : not Raw
        if c == 'DNS':
            r = parse_dns(P, tcp)
            if r is None: return s.raw(po, end)
            s.add('DNS', po, end - po - len(r['trailing']), dns=r, tcp=tcp)
            if r['raw_inside']: raise Unsupported('dns rr raw')
            if r['trailing']: s.raw(end - len(r['trailing']), end)
            return
        if c == 'VXLAN': raise Unsupported('vxlan')
        s.add('APP_' + c, po, end - po)   # assume dissector yields no Raw

def first(L, cls):
    for i, e in enumerate(L):
        if e['cls'] == cls: return i
    return None

def process(data, linktype, mode):
    p = Pkt(data, linktype)
    L = p.L; cl = set(e['cls'] for e in L); d = bytearray(data)
    # --- constructor effects (both modes) ---
    kind = 'HTTP' if 'HTTP' in cl else 'DNS' if 'DNS' in cl else 'T' if ('TCP' in cl or 'UDP' in cl) else \
           'IP' if ('IP' in cl or 'IPv6' in cl) else 'E' if 'Ether' in cl else 'U'
    cut = None  # byte offset where chain is cut (everything after dropped incl. padding)
    if kind != 'U':
        i = first(L, 'Ether')
        if i is not None: o = L[i]['off']; d[o:o+12] = MAC_S * 2
    if kind in ('HTTP', 'DNS', 'T', 'IP'):
        i4 = first(L, 'IP'); i6 = first(L, 'IPv6')
        if i4 is not None:
            o = L[i4]['off']; d[o+12:o+20] = IP4_S * 2
            if 'Raw' in cl and not ('TCP' in cl or 'UDP' in cl or 'HTTP' in cl): cut = L[i4]['off'] + L[i4]['hlen']
        elif i6 is not None:
            o = L[i6]['off']; d[o+8:o+40] = IP6_S * 2
            if 'Raw' in cl and not ('TCP' in cl or 'UDP' in cl or 'HTTP' in cl): cut = L[i6]['off'] + L[i6]['hlen']
    if kind in ('HTTP', 'DNS', 'T'):
        it = first(L, 'TCP'); iu = first(L, 'UDP')
        j = it if it is not None else iu
        if j is not None and ('TLS' in cl or ('Raw' in cl and 'HTTP' not in cl)):
            cut = L[j]['off'] + L[j]['hlen']
    if kind == 'HTTP':
        for k in ('REQ', 'RESP'):
            j = first(L, k)
            if j is not None and 'Raw' in cl: cut = L[j]['off'] + L[j]['hlen']
    # truncate layer list at cut
    if cut is not None:
        L = [e for e in L if e['off'] < cut]
        tail = b''
    else:
        tail = bytes(d[p.pad_start:])
    if mode == 'NONE':
        end = cut if cut is not None else len(d)
        return bytes(d[:end])
    # --- HEADER ---
    if kind == 'DNS' and first(L, 'DNS') is None: raise RuntimeError('IndexError DNS')
    seg = []  # per layer bytes
    for e in L:
        o = e['off']; seg.append(bytes(d[o:o+e['hlen']]))
    replaced = set()
    def repl(idx, b):
        if idx == 0: raise RuntimeError('AttributeError underlayer None')
        if (idx - 1) in replaced: return   # stale underlayer: replacement lost
        seg[idx] = b; replaced.add(idx)
    if kind == 'HTTP':
        for k in ('REQ', 'RESP'):
            j = first(L, k)
            if j is None: continue
            e = L[j]; h = e['hdr']
            if k == 'REQ':
                m, pth = (e['first'][0], e['first'][1]) if e['first'] else (b'GET', b'/')
                out = (m + b' ' if m else b'') + (pth + b' ' if pth else b'')
                names = ['User_Agent', 'Content_Type', 'Connection', 'Accept', 'Accept_Charset', 'Cookie', 'TE']
            else:
                sc = e['first'][1] if e['first'] else b'200'
                out = sc + b' ' if sc else b''
                names = ['Connection', 'Content_Encoding', 'Content_Type', 'Server', 'Set_Cookie', 'Transfer_Encoding']
            for n in names:
                v = h.get(n.lower())
                if v: out += n.encode() + b': ' + v + b'\r\n'
            repl(j, out)
    if kind == 'DNS':
        j = first(L, 'DNS'); r = L[j]['dns']
        secb = []
        for si, (st, recs) in enumerate(r['secs']):
            b = b''
            for name, typ in recs:
                b += dns_encode(name if name else b'.') + typ.to_bytes(2, 'big') + (b'' if si == 0 else b'\x00' * 4)
            secb.append(b)
        dnsb = r['hdr'] + b''.join(secb)          # length prefix (TCP) dropped
        cust = r['hdr'][2:4] + b''.join(secb)
        seg[j] = dnsb + cust; replaced.add(j)      # DNS'/CustomDNS (via /=)
        # a trailing Raw would have caused removal; trailing padding stays in tail
    it = first(L, 'TCP')
    if it is not None:
        o = L[it]['off']; fl = ((d[o+12] & 1) << 8) | d[o+13]
        opts = bytes(d[o+20:o+L[it]['hlen']])
        repl(it, fl.to_bytes(2, 'big') + tcp_opts_reencode(opts))
    iu = first(L, 'UDP')
    if iu is not None: repl(iu, b'')
    i4 = first(L, 'IP')
    if i4 is not None:
        o = L[i4]['off']; fl = d[o+6] >> 5
        repl(i4, bytes([(d[o] & 0xf0) | fl, d[o+1], d[o+8], d[o+9]]))
    i6 = first(L, 'IPv6')
    if i6 is not None:
        o = L[i6]['off']
        repl(i6, bytes([d[o] >> 4, ((d[o] & 15) << 4) | (d[o+1] >> 4), d[o+6], d[o+7]]))
    return b''.join(seg) + tail

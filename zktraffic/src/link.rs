//! From a captured frame to a TCP segment: link layers (Ethernet with VLAN
//! tags, Linux cooked SLL/SLL2, BSD loopback, raw IP), IPv4 and IPv6.

use std::net::{IpAddr, SocketAddr};

use etherparse::{EtherType, LaxNetSlice, LaxSlicedPacket, TransportSlice};

/// libpcap LINKTYPE_* values we understand.
pub mod linktype {
    pub const NULL: u32 = 0;
    pub const ETHERNET: u32 = 1;
    pub const RAW: u32 = 101;
    /// DLT_RAW as some BSDs number it in files.
    pub const RAW_BSD12: u32 = 12;
    pub const RAW_BSD14: u32 = 14;
    pub const LOOP: u32 = 108;
    pub const LINUX_SLL: u32 = 113;
    pub const IPV4: u32 = 228;
    pub const IPV6: u32 = 229;
    pub const LINUX_SLL2: u32 = 276;

    pub fn supported(lt: u32) -> bool {
        matches!(
            lt,
            NULL | ETHERNET
                | RAW
                | RAW_BSD12
                | RAW_BSD14
                | LOOP
                | LINUX_SLL
                | IPV4
                | IPV6
                | LINUX_SLL2
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
    /// The payload bytes captured.
    pub payload: &'a [u8],
    /// The payload's length on the wire; more than `payload.len()` when the
    /// capture's snaplen cut the packet.
    pub wire_len: usize,
}

/// Why a frame yielded no TCP segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Not IP, or IP but not TCP: not ours, not an error.
    NotTcp,
    /// Headers cut short or malformed.
    Malformed,
    /// An IP fragment: ZooKeeper traffic is not fragmented on sane networks.
    Fragment,
    UnsupportedLinkType,
}

/// Parses one captured frame. `orig_len` is the frame's length on the wire.
pub fn parse(linktype: u32, data: &[u8], orig_len: u32) -> Result<TcpSegment<'_>, Skip> {
    // Plain IPv4 + TCP, nearly every packet, is read directly; etherparse's
    // general parse was a sixth of decode time. Anything else, or anything
    // unusual about those headers, takes the general path.
    const IPV4: [u8; 2] = [0x08, 0x00];
    let ip = match linktype {
        linktype::ETHERNET if data.get(12..14) == Some(&IPV4[..]) => data.get(14..),
        linktype::RAW
        | linktype::RAW_BSD12
        | linktype::RAW_BSD14
        | linktype::IPV4
        | linktype::IPV6 => Some(data),
        linktype::NULL | linktype::LOOP => data.get(4..),
        linktype::LINUX_SLL if data.get(14..16) == Some(&IPV4[..]) => data.get(16..),
        linktype::LINUX_SLL2 if data.get(0..2) == Some(&IPV4[..]) => data.get(20..),
        _ => None,
    };
    let missing = (orig_len as usize).saturating_sub(data.len());
    if let Some(seg) = ip.and_then(|ip| ipv4_tcp(ip, missing)) {
        return Ok(seg);
    }
    parse_general(linktype, data, orig_len)
}

/// The IPv4 + TCP fast path: exactly what etherparse's lax parse yields for
/// these packets, or `None` to let it decide.
fn ipv4_tcp(ip: &[u8], missing: usize) -> Option<TcpSegment<'_>> {
    let header = ip.get(..20)?;
    let ihl = usize::from(header[0] & 0x0f) * 4;
    // Version 4, TCP, no options beyond what the slice holds, not a fragment
    // (more-fragments flag or an offset).
    if header[0] >> 4 != 4
        || header[9] != 6
        || ihl < 20
        || ip.len() < ihl
        || header[6] & 0x3f != 0
        || header[7] != 0
    {
        return None;
    }
    // As lax parsing does: a total length shorter than the header (TCP
    // segmentation offload) or longer than what was captured means "the rest".
    let total = usize::from(u16::from_be_bytes([header[2], header[3]]));
    let tcp = if total < ihl || total > ip.len() {
        &ip[ihl..]
    } else {
        &ip[ihl..total]
    };
    let th = tcp.get(..20)?;
    let data_offset = usize::from(th[12] >> 4) * 4;
    if data_offset < 20 || tcp.len() < data_offset {
        return None;
    }
    let payload = &tcp[data_offset..];
    let addr = |b: &[u8], port: &[u8]| {
        SocketAddr::new(
            IpAddr::V4(std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3])),
            u16::from_be_bytes([port[0], port[1]]),
        )
    };
    let flags = th[13];
    Some(TcpSegment {
        src: addr(&header[12..16], &th[0..2]),
        dst: addr(&header[16..20], &th[2..4]),
        seq: u32::from_be_bytes([th[4], th[5], th[6], th[7]]),
        syn: flags & 0x02 != 0,
        ack: flags & 0x10 != 0,
        fin: flags & 0x01 != 0,
        rst: flags & 0x04 != 0,
        payload,
        wire_len: payload.len() + missing,
    })
}

/// Any frame, through etherparse.
fn parse_general(linktype: u32, data: &[u8], orig_len: u32) -> Result<TcpSegment<'_>, Skip> {
    let pkt = match linktype {
        linktype::ETHERNET => LaxSlicedPacket::from_ethernet(data).map_err(|_| Skip::Malformed)?,
        linktype::RAW
        | linktype::RAW_BSD12
        | linktype::RAW_BSD14
        | linktype::IPV4
        | linktype::IPV6 => LaxSlicedPacket::from_ip(data).map_err(|_| Skip::Malformed)?,
        linktype::LINUX_SLL => {
            let proto = data.get(14..16).ok_or(Skip::Malformed)?;
            LaxSlicedPacket::from_ether_type(
                EtherType(u16::from_be_bytes([proto[0], proto[1]])),
                &data[16..],
            )
        }
        linktype::LINUX_SLL2 => {
            let proto = data.get(0..2).ok_or(Skip::Malformed)?;
            let rest = data.get(20..).ok_or(Skip::Malformed)?;
            LaxSlicedPacket::from_ether_type(
                EtherType(u16::from_be_bytes([proto[0], proto[1]])),
                rest,
            )
        }
        // The 4-byte address family is in the capturing host's byte order
        // (NULL) or network order (LOOP); either way the IP version nibble
        // that follows tells v4 from v6, so skip it and parse the IP header.
        linktype::NULL | linktype::LOOP => {
            let rest = data.get(4..).ok_or(Skip::Malformed)?;
            LaxSlicedPacket::from_ip(rest).map_err(|_| Skip::Malformed)?
        }
        _ => return Err(Skip::UnsupportedLinkType),
    };
    let (src_ip, dst_ip, ip_payload): (IpAddr, IpAddr, _) = match &pkt.net {
        Some(LaxNetSlice::Ipv4(v4)) => {
            let h = v4.header();
            (
                h.source_addr().into(),
                h.destination_addr().into(),
                v4.payload(),
            )
        }
        Some(LaxNetSlice::Ipv6(v6)) => {
            let h = v6.header();
            (
                h.source_addr().into(),
                h.destination_addr().into(),
                v6.payload(),
            )
        }
        None => {
            return Err(if pkt.stop_err.is_some() {
                Skip::Malformed
            } else {
                Skip::NotTcp
            })
        }
    };
    if ip_payload.fragmented {
        return Err(Skip::Fragment);
    }
    if ip_payload.ip_number != etherparse::IpNumber::TCP {
        return Err(Skip::NotTcp);
    }
    let Some(TransportSlice::Tcp(tcp)) = &pkt.transport else {
        return Err(Skip::Malformed);
    };
    let payload = tcp.payload();
    // Whatever the snaplen cut off was payload: the headers parsed whole.
    let missing = (orig_len as usize).saturating_sub(data.len());
    Ok(TcpSegment {
        src: SocketAddr::new(src_ip, tcp.source_port()),
        dst: SocketAddr::new(dst_ip, tcp.destination_port()),
        seq: tcp.sequence_number(),
        syn: tcp.syn(),
        ack: tcp.ack(),
        fin: tcp.fin(),
        rst: tcp.rst(),
        payload,
        wire_len: payload.len() + missing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn v4_tcp(payload: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([127, 0, 0, 1], [127, 0, 0, 2], 64)
            .tcp(50000, 2181, 1000, 65535);
        let mut out = Vec::new();
        b.write(&mut out, payload).unwrap();
        out
    }

    #[test]
    fn ethernet_ipv4() {
        let f = v4_tcp(b"hello");
        let s = parse(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert_eq!(s.src.to_string(), "127.0.0.1:50000");
        assert_eq!(s.dst.port(), 2181);
        assert_eq!(s.payload, b"hello");
        assert_eq!(s.seq, 1000);
        assert_eq!(s.wire_len, 5);
    }

    #[test]
    fn snaplen_cut_payload_is_reported() {
        let f = v4_tcp(b"hello world");
        let cut = &f[..f.len() - 6];
        let s = parse(linktype::ETHERNET, cut, f.len() as u32).unwrap();
        assert_eq!(s.payload, b"hello");
        assert_eq!(s.wire_len, 11);
    }

    #[test]
    fn raw_null_sll_and_sll2() {
        let f = v4_tcp(b"x");
        let ip = &f[14..];
        assert!(parse(linktype::RAW, ip, ip.len() as u32).is_ok());
        let mut null = 2u32.to_le_bytes().to_vec();
        null.extend_from_slice(ip);
        assert!(parse(linktype::NULL, &null, null.len() as u32).is_ok());
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&[0x08, 0x00]);
        sll.extend_from_slice(ip);
        assert_eq!(
            parse(linktype::LINUX_SLL, &sll, sll.len() as u32)
                .unwrap()
                .payload,
            b"x"
        );
        let mut sll2 = vec![0x08, 0x00];
        sll2.extend_from_slice(&[0u8; 18]);
        sll2.extend_from_slice(ip);
        assert_eq!(
            parse(linktype::LINUX_SLL2, &sll2, sll2.len() as u32)
                .unwrap()
                .payload,
            b"x"
        );
    }

    #[test]
    fn ipv6_and_vlan() {
        let b = PacketBuilder::ethernet2([1; 6], [2; 6])
            .single_vlan(etherparse::VlanId::try_new(7).unwrap())
            .ipv6([0; 16], [0xfe; 16], 64)
            .tcp(2181, 40000, 5, 100);
        let mut f = Vec::new();
        b.write(&mut f, b"abc").unwrap();
        let s = parse(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert!(s.src.is_ipv6());
        assert_eq!(s.payload, b"abc");
    }

    /// The IPv4 fast path must agree with etherparse on everything, valid or
    /// not: random headers, then random damage to them and random cuts.
    #[test]
    fn fast_path_agrees_with_etherparse() {
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        for i in 0..20_000u64 {
            let r = next();
            let payload: Vec<u8> = (0..(r % 40) as usize).map(|b| b as u8).collect();
            let mut tcp = PacketBuilder::ethernet2([1; 6], [2; 6])
                .ipv4((r as u32).to_be_bytes(), [127, 0, 0, 1], 64)
                .tcp((r >> 32) as u16, 2181, (r >> 8) as u32, 65535);
            if r & 1 != 0 {
                tcp = tcp.syn();
            }
            if r & 2 != 0 {
                tcp = tcp.ack(7);
            }
            if r & 4 != 0 {
                tcp = tcp.fin();
            }
            if r & 8 != 0 {
                tcp = tcp.rst();
            }
            let mut frame = Vec::new();
            tcp.write(&mut frame, &payload).unwrap();
            // Damage: a few bytes of the IPv4 and TCP headers (version, IHL,
            // lengths, flags, fragment offset, protocol, data offset...).
            for _ in 0..(next() % 4) {
                let d = next();
                let at = 14 + (d % 40) as usize;
                frame[at] = (d >> 8) as u8;
            }
            let cut = if i % 3 == 0 {
                (next() % (frame.len() as u64 + 1)) as usize
            } else {
                frame.len()
            };
            let orig = frame.len() as u32;
            let f = &frame[..cut];
            let ip = &f[14.min(f.len())..];
            let mut null = 2u32.to_le_bytes().to_vec();
            null.extend_from_slice(ip);
            let mut sll = vec![0u8; 14];
            sll.extend_from_slice(&[0x08, 0x00]);
            sll.extend_from_slice(ip);
            let mut sll2 = vec![0x08, 0x00];
            sll2.extend_from_slice(&[0u8; 18]);
            sll2.extend_from_slice(ip);
            for (lt, data) in [
                (linktype::ETHERNET, f),
                (linktype::RAW, ip),
                (linktype::IPV4, ip),
                (linktype::NULL, &null[..]),
                (linktype::LINUX_SLL, &sll[..]),
                (linktype::LINUX_SLL2, &sll2[..]),
            ] {
                assert_eq!(
                    parse(lt, data, orig),
                    parse_general(lt, data, orig),
                    "linktype {lt}, frame {data:02x?}"
                );
            }
        }
    }

    #[test]
    fn garbage_never_panics() {
        for n in 0..64 {
            let junk: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            for lt in [0, 1, 101, 113, 276, 228] {
                let _ = parse(lt, &junk, junk.len() as u32 + 3);
            }
        }
        assert_eq!(parse(999, &[], 0), Err(Skip::UnsupportedLinkType));
    }
}

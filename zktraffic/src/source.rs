//! Where packets come from: a pcap or pcapng file (or stdin), or a live
//! interface through libpcap.

use std::fs::File;
use std::io::{BufReader, Read};
use std::time::Duration;

use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgReader};

use crate::error::{Error, Result};

/// One captured packet, borrowed from the source's buffer.
#[derive(Debug, Clone, Copy)]
pub struct PacketRef<'a> {
    pub ts: Duration,
    /// libpcap LINKTYPE_* value.
    pub linktype: u32,
    pub data: &'a [u8],
    /// The packet's length on the wire (more than `data.len()` when snaplen cut it).
    pub orig_len: u32,
}

/// What a source yields on each call.
pub enum Next<'a> {
    Packet(PacketRef<'a>),
    /// A live capture's read timeout passed with no packet: a chance to tick.
    Idle,
    End,
}

/// Kernel-side counters of a live capture.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KernelStats {
    pub received: u64,
    pub dropped: u64,
    pub if_dropped: u64,
}

pub trait PacketSource {
    fn next_packet(&mut self) -> Result<Next<'_>>;
    /// Drop counters, for live captures.
    fn kernel_stats(&mut self) -> Option<KernelStats> {
        None
    }
}

// ---------------------------------------------------------------- files

enum Format {
    Pcap(PcapReader<Box<dyn Read>>),
    PcapNg {
        reader: PcapNgReader<Box<dyn Read>>,
        // Per interface: link type and timestamp units per second.
        ifaces: Vec<(u32, u64)>,
    },
}

/// A pcap or pcapng file, or `-` for stdin. Truncation or corruption after
/// some packets is reported as [`Error::Truncated`], after every whole packet
/// before it has been returned.
pub struct FileSource {
    name: String,
    format: Format,
    packets: u64,
    linktype: u32,
    // pcapng packets are copied here: a packet borrowed from the reader
    // cannot outlive the loop that skips non-packet blocks.
    scratch: Vec<u8>,
}

/// Caps each read at 256 KiB. The capture readers ask to fill their whole
/// 8 MB buffer, and a buffer that large streams through the CPU caches,
/// evicting the connections' state; with small reads the data keeps landing
/// at the front of it, which stays cached (decoding got a few percent faster).
struct SmallReads<R>(R);

impl<R: Read> Read for SmallReads<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(256 * 1024);
        self.0.read(&mut buf[..n])
    }
}

const PCAP_MAGICS: [[u8; 4]; 4] = [
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
    [0x4d, 0x3c, 0xb2, 0xa1],
];
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

impl FileSource {
    pub fn open(path: &str) -> Result<FileSource> {
        let input: Box<dyn Read> = if path == "-" {
            Box::new(BufReader::with_capacity(1 << 20, std::io::stdin()))
        } else {
            let f = File::open(path).map_err(|source| Error::OpenFile {
                path: path.to_string(),
                source,
            })?;
            // Unbuffered: the capture readers keep a buffer of their own.
            Box::new(f)
        };
        Self::from_reader(path, input)
    }

    pub fn from_reader(name: &str, mut input: Box<dyn Read>) -> Result<FileSource> {
        let not_capture = |msg: String| Error::NotACapture {
            path: name.to_string(),
            msg,
        };
        let mut magic = [0u8; 4];
        input
            .read_exact(&mut magic)
            .map_err(|e| not_capture(format!("cannot read the file header: {e}")))?;
        // The readers want the magic back in front of the stream.
        let input: Box<dyn Read> = Box::new(SmallReads(std::io::Cursor::new(magic).chain(input)));
        let (format, linktype) = if PCAP_MAGICS.contains(&magic) {
            let r = PcapReader::new(input).map_err(|e| not_capture(e.to_string()))?;
            let lt = u32::from(r.header().datalink);
            (Format::Pcap(r), lt)
        } else if magic == PCAPNG_MAGIC {
            let r = PcapNgReader::new(input).map_err(|e| not_capture(e.to_string()))?;
            (
                Format::PcapNg {
                    reader: r,
                    ifaces: Vec::new(),
                },
                0,
            )
        } else {
            return Err(not_capture(format!("unknown magic {magic:02x?}")));
        };
        Ok(FileSource {
            name: name.to_string(),
            format,
            packets: 0,
            linktype,
            scratch: Vec::new(),
        })
    }
}

fn units_per_sec(opts: &[InterfaceDescriptionOption<'_>]) -> u64 {
    for o in opts {
        if let InterfaceDescriptionOption::IfTsResol(r) = o {
            // High bit set: a power of two; otherwise a power of ten.
            return if r & 0x80 != 0 {
                1u64.checked_shl(u32::from(r & 0x7f)).unwrap_or(1_000_000)
            } else {
                10u64.checked_pow(u32::from(*r)).unwrap_or(1_000_000)
            };
        }
    }
    1_000_000
}

fn ticks_to_duration(ticks: u64, per_sec: u64) -> Duration {
    let per_sec = per_sec.max(1);
    let nanos = (ticks % per_sec) as u128 * 1_000_000_000 / per_sec as u128;
    Duration::new(ticks / per_sec, nanos as u32)
}

impl PacketSource for FileSource {
    fn next_packet(&mut self) -> Result<Next<'_>> {
        // Borrow juggling: decide first, then build the borrowed packet.
        match &mut self.format {
            Format::Pcap(r) => match r.next_packet() {
                None => Ok(Next::End),
                Some(Err(e)) => Err(Error::Truncated {
                    path: self.name.clone(),
                    packets: self.packets,
                    msg: e.to_string(),
                }),
                Some(Ok(p)) => {
                    self.packets += 1;
                    let data = match p.data {
                        std::borrow::Cow::Borrowed(b) => b,
                        std::borrow::Cow::Owned(_) => unreachable!("pcap reader borrows"),
                    };
                    Ok(Next::Packet(PacketRef {
                        ts: p.timestamp,
                        linktype: self.linktype,
                        data,
                        orig_len: p.orig_len,
                    }))
                }
            },
            Format::PcapNg { reader, ifaces } => loop {
                let block = match reader.next_block() {
                    None => return Ok(Next::End),
                    Some(Err(e)) => {
                        let msg = e.to_string();
                        return Err(Error::Truncated {
                            path: self.name.clone(),
                            packets: self.packets,
                            msg,
                        });
                    }
                    Some(Ok(b)) => b,
                };
                match block {
                    Block::SectionHeader(_) => ifaces.clear(),
                    Block::InterfaceDescription(idb) => {
                        ifaces.push((u32::from(idb.linktype), units_per_sec(&idb.options)))
                    }
                    Block::EnhancedPacket(epb) => {
                        let Some(&(linktype, per_sec)) = ifaces.get(epb.interface_id as usize)
                        else {
                            continue;
                        };
                        self.packets += 1;
                        // pcap-file reports raw ticks as nanoseconds; rescale by if_tsresol.
                        let ts = ticks_to_duration(epb.timestamp.as_nanos() as u64, per_sec);
                        self.scratch.clear();
                        self.scratch.extend_from_slice(&epb.data);
                        let orig_len = epb.original_len;
                        return Ok(Next::Packet(PacketRef {
                            ts,
                            linktype,
                            data: &self.scratch,
                            orig_len,
                        }));
                    }
                    Block::SimplePacket(spb) => {
                        let Some(&(linktype, _)) = ifaces.first() else {
                            continue;
                        };
                        self.packets += 1;
                        self.scratch.clear();
                        self.scratch.extend_from_slice(&spb.data);
                        let orig_len = spb.original_len;
                        return Ok(Next::Packet(PacketRef {
                            ts: Duration::ZERO,
                            linktype,
                            data: &self.scratch,
                            orig_len,
                        }));
                    }
                    _ => {}
                }
            },
        }
    }
}

// ---------------------------------------------------------------- live

/// Options for a live capture.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    pub iface: String,
    pub filter: String,
    /// Kernel buffer in bytes.
    pub buffer_size: i32,
    /// Read timeout; a source returns [`Next::Idle`] when it passes.
    pub timeout_ms: i32,
}

pub struct LiveSource {
    cap: pcap::Capture<pcap::Active>,
    linktype: u32,
    iface: String,
}

impl LiveSource {
    pub fn open(opts: &LiveOptions) -> Result<LiveSource> {
        let live = |msg: String| Error::Live {
            iface: opts.iface.clone(),
            msg,
        };
        let cap = pcap::Capture::from_device(opts.iface.as_str())
            .map_err(|e| live(e.to_string()))?
            .snaplen(262_144)
            .promisc(false)
            // Not immediate mode: libpcap then uses TPACKET_V2, whose ring has
            // fixed slots as large as the MTU (64 KiB on loopback), so 64 MiB
            // holds only ~1000 packets and 100k packets/s overflow it within
            // milliseconds. TPACKET_V3 packs packets into blocks; the cost is
            // that they are handed over when a block fills or the read timeout
            // passes, i.e. up to `timeout_ms` late.
            .immediate_mode(false)
            .buffer_size(opts.buffer_size)
            .timeout(opts.timeout_ms)
            .open()
            .map_err(|e| {
                let msg = e.to_string();
                if msg.contains("ermission") || msg.contains("not permitted") {
                    live(format!(
                        "{msg}: capturing needs root or CAP_NET_RAW+CAP_NET_ADMIN \
                         (e.g. sudo setcap cap_net_raw,cap_net_admin=eip $(which zktraffic))"
                    ))
                } else {
                    live(msg)
                }
            })?;
        // Non-blocking: on Linux the read timeout does not fire while the
        // interface is silent, which would ignore --duration and Ctrl-C.
        let mut cap = cap.setnonblock().map_err(|e| live(e.to_string()))?;
        cap.filter(&opts.filter, true)
            .map_err(|e| live(format!("bad filter {:?}: {e}", opts.filter)))?;
        let linktype = cap.get_datalink().0 as u32;
        Ok(LiveSource {
            cap,
            linktype,
            iface: opts.iface.clone(),
        })
    }
}

impl PacketSource for LiveSource {
    fn next_packet(&mut self) -> Result<Next<'_>> {
        match self.cap.next_packet() {
            Ok(p) => Ok(Next::Packet(PacketRef {
                ts: Duration::new(
                    p.header.ts.tv_sec.max(0) as u64,
                    (p.header.ts.tv_usec.max(0) as u32) * 1000,
                ),
                linktype: self.linktype,
                data: p.data,
                orig_len: p.header.len,
            })),
            Err(pcap::Error::TimeoutExpired) => {
                // Nothing buffered: wait a little rather than spin.
                std::thread::sleep(std::time::Duration::from_millis(5));
                Ok(Next::Idle)
            }
            Err(pcap::Error::NoMorePackets) => Ok(Next::End),
            Err(e) => Err(Error::Live {
                iface: self.iface.clone(),
                msg: e.to_string(),
            }),
        }
    }

    fn kernel_stats(&mut self) -> Option<KernelStats> {
        self.cap.stats().ok().map(|s| KernelStats {
            received: s.received.into(),
            dropped: s.dropped.into(),
            if_dropped: s.if_dropped.into(),
        })
    }
}

/// The BPF filter for the given ports, and-ed with the user's expression.
pub fn bpf_filter(ports: &[u16], extra: Option<&str>) -> String {
    let ports = ports
        .iter()
        .map(|p| format!("tcp port {p}"))
        .collect::<Vec<_>>()
        .join(" or ");
    match extra {
        Some(x) if !x.trim().is_empty() => format!("({ports}) and ({x})"),
        _ => ports,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter() {
        assert_eq!(bpf_filter(&[2181], None), "tcp port 2181");
        assert_eq!(
            bpf_filter(&[2181, 2888], Some("host 127.0.0.1")),
            "(tcp port 2181 or tcp port 2888) and (host 127.0.0.1)"
        );
    }

    #[test]
    fn pcapng_resolution() {
        assert_eq!(
            ticks_to_duration(1_500_000, 1_000_000),
            Duration::from_millis(1500)
        );
        assert_eq!(
            ticks_to_duration(3_000_000_001, 1_000_000_000),
            Duration::new(3, 1)
        );
        assert_eq!(
            units_per_sec(&[InterfaceDescriptionOption::IfTsResol(9)]),
            1_000_000_000
        );
        assert_eq!(units_per_sec(&[]), 1_000_000);
    }

    #[test]
    fn garbage_is_not_a_capture() {
        let e = FileSource::from_reader("x", Box::new(&b"hello world"[..]))
            .err()
            .unwrap();
        assert!(e.to_string().contains("not a pcap"), "{e}");
        let e = FileSource::from_reader("x", Box::new(&b"he"[..]))
            .err()
            .unwrap();
        assert!(e.to_string().contains("not a pcap"), "{e}");
    }
}

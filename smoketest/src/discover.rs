//! Phase 1: who is in the ensemble. Parses the server list, measures TCP
//! connect time and asks each server `srvr` (the one four-letter word enabled
//! by default), then `conf`, `mntr` and `isro` where the whitelist allows.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::client::within;
use crate::error::{Error, Result};

/// `--servers h:p,h:p[/chroot]` (ZooKeeper's connect-string syntax).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Servers {
    pub addrs: Vec<String>,
    pub chroot: Option<String>,
}

pub fn parse_servers(s: &str) -> Result<Servers> {
    let bad = |why: &str| Error::BadServers(s.to_string(), why.to_string());
    let (list, chroot) = match s.find('/') {
        Some(i) => (
            &s[..i],
            Some(s[i..].trim_end_matches('/').to_string()).filter(|c| !c.is_empty()),
        ),
        None => (s, None),
    };
    let mut addrs = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (host, port) = match part.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| bad(&format!("bad port in {part:?}")))?,
            ),
            None => (part, 2181),
        };
        if host.is_empty() {
            return Err(bad(&format!("empty host in {part:?}")));
        }
        addrs.push(format!("{host}:{port}"));
    }
    if addrs.is_empty() {
        return Err(bad("no servers"));
    }
    if let Some(c) = &chroot {
        if c.contains("//") || c.ends_with('/') {
            return Err(bad(&format!("bad chroot {c:?}")));
        }
    }
    Ok(Servers { addrs, chroot })
}

/// Reads `server.N=host:quorum:election[:role][;[addr:]clientPort]` lines (and
/// clientPort) from a zoo.cfg and returns the client addresses.
pub fn servers_from_config(text: &str) -> Result<Servers> {
    let mut client_port = 2181u16;
    let mut entries = Vec::new();
    for line in text.lines().map(str::trim) {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        if k == "clientPort" {
            client_port = v
                .parse()
                .map_err(|_| Error::Config(format!("zoo.cfg: bad clientPort {v:?}")))?;
        } else if let Some(id) = k.strip_prefix("server.") {
            let id: u64 = id
                .parse()
                .map_err(|_| Error::Config(format!("zoo.cfg: bad server id in {k:?}")))?;
            entries.push((id, v.to_string()));
        }
    }
    if entries.is_empty() {
        return Err(Error::Config("zoo.cfg lists no server.N entries".into()));
    }
    entries.sort();
    let addrs = entries
        .into_iter()
        .map(|(_, v)| {
            let (quorum, client) = match v.split_once(';') {
                Some((q, c)) => (q, Some(c.trim())),
                None => (v.as_str(), None),
            };
            let host = quorum.split(':').next().unwrap_or("").to_string();
            match client {
                Some(c) if c.contains(':') => c.to_string(),
                Some(c) => format!("{host}:{c}"),
                None => format!("{host}:{client_port}"),
            }
        })
        .collect();
    Ok(Servers {
        addrs,
        chroot: None,
    })
}

/// What `srvr` (and friends, when allowed) said about one server.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerInfo {
    pub addr: String,
    pub tcp_connect_us: Option<u64>,
    pub reachable: bool,
    pub error: Option<String>,
    pub mode: Option<String>,
    pub version: Option<String>,
    pub zxid: Option<i64>,
    pub node_count: Option<u64>,
    pub connections: Option<u64>,
    /// `conf` when whitelisted: key → value.
    pub conf: Option<std::collections::BTreeMap<String, String>>,
    pub read_only: Option<bool>,
}

impl ServerInfo {
    pub fn is_leader(&self) -> bool {
        matches!(self.mode.as_deref(), Some("leader") | Some("standalone"))
    }
    pub fn conf_ms(&self, key: &str) -> Option<u64> {
        self.conf.as_ref()?.get(key)?.parse().ok()
    }
}

/// Sends one four-letter word and reads the whole answer.
pub async fn four_letter(addr: &str, word: &str, timeout: Duration) -> Result<String> {
    let work = async {
        let mut s = TcpStream::connect(addr).await?;
        s.write_all(word.as_bytes()).await?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&out).into_owned())
    };
    within(timeout, &format!("4lw {word}"), addr, async {
        work.await.map_err(|source| Error::Io {
            addr: addr.into(),
            source,
        })
    })
    .await
}

fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(key).map(str::trim))
}

/// Parses a `srvr`/`stat` answer.
pub fn parse_srvr(info: &mut ServerInfo, text: &str) {
    info.version = field(text, "Zookeeper version:")
        .map(|v| v.split(',').next().unwrap_or(v).trim().to_string());
    info.mode = field(text, "Mode:").map(str::to_string);
    info.zxid =
        field(text, "Zxid:").and_then(|z| i64::from_str_radix(z.trim_start_matches("0x"), 16).ok());
    info.node_count = field(text, "Node count:").and_then(|n| n.parse().ok());
    info.connections = field(text, "Connections:").and_then(|n| n.parse().ok());
}

pub async fn probe(addr: &str, timeout: Duration) -> ServerInfo {
    let mut info = ServerInfo {
        addr: addr.to_string(),
        ..Default::default()
    };
    let t = Instant::now();
    match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Ok(Ok(_)) => {
            info.tcp_connect_us = Some(t.elapsed().as_micros() as u64);
            info.reachable = true;
        }
        Ok(Err(e)) => {
            info.error = Some(e.to_string());
            return info;
        }
        Err(_) => {
            info.error = Some(format!("TCP connect timed out after {timeout:?}"));
            return info;
        }
    }
    match four_letter(addr, "srvr", timeout).await {
        Ok(text) if text.contains("Mode:") => parse_srvr(&mut info, &text),
        Ok(text) if text.contains("not currently serving") => {
            info.mode = Some("not serving".into());
            info.error = Some("This ZooKeeper instance is not currently serving requests".into());
        }
        Ok(text) if text.contains("not in the whitelist") => {
            info.error = Some("srvr is not whitelisted".into())
        }
        Ok(text) => {
            info.error = Some(format!(
                "unexpected srvr answer: {:?}",
                text.chars().take(80).collect::<String>()
            ))
        }
        Err(e) => info.error = Some(e.to_string()),
    }
    if let Ok(text) = four_letter(addr, "conf", timeout).await {
        if !text.contains("not in the whitelist") && text.contains('=') {
            info.conf = Some(
                text.lines()
                    .filter_map(|l| l.split_once('='))
                    .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                    .collect(),
            );
        }
    }
    if let Ok(text) = four_letter(addr, "isro", timeout).await {
        match text.trim() {
            "ro" => info.read_only = Some(true),
            "rw" => info.read_only = Some(false),
            _ => {}
        }
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_lists() {
        let s = parse_servers("a:1,b:2/app/zk").unwrap();
        assert_eq!(s.addrs, vec!["a:1", "b:2"]);
        assert_eq!(s.chroot.as_deref(), Some("/app/zk"));
        assert_eq!(parse_servers("h").unwrap().addrs, vec!["h:2181"]);
        assert!(parse_servers("a:x").is_err());
        assert!(parse_servers("").is_err());
        assert!(parse_servers(":1").is_err());
    }

    #[test]
    fn zoo_cfg() {
        let cfg = "tickTime=2000\nclientPort=2181\nserver.2=10.0.0.2:2888:3888\nserver.1=10.0.0.1:2888:3888;2182\nserver.3=h3:2888:3888:observer;0.0.0.0:2183\n";
        let s = servers_from_config(cfg).unwrap();
        assert_eq!(
            s.addrs,
            vec!["10.0.0.1:2182", "10.0.0.2:2181", "0.0.0.0:2183"]
        );
    }

    #[test]
    fn srvr_answer() {
        let text = "Zookeeper version: 3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC\nLatency min/avg/max: 0/0.5/3\nReceived: 10\nSent: 9\nConnections: 1\nOutstanding: 0\nZxid: 0x10000002a\nMode: follower\nNode count: 7\n";
        let mut i = ServerInfo::default();
        parse_srvr(&mut i, text);
        assert_eq!(i.mode.as_deref(), Some("follower"));
        assert_eq!(i.zxid, Some(0x10000002a));
        assert_eq!(i.node_count, Some(7));
        assert_eq!(i.version.as_deref(), Some("3.8.0-${mvngit.commit.id}"));
    }
}

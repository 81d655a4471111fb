//! The HTTP side: `GET /metrics` from one std thread, no async runtime.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use super::Metrics;

/// Serves `/metrics` until stopped (or dropped).
#[derive(Debug)]
pub struct Exporter {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// One slow or silent client must not hold the (single) serving thread for long.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_REQUEST_HEAD: usize = 8 * 1024;

impl Exporter {
    /// Binds `addr` (port 0: any free port, see [`Exporter::local_addr`]) and
    /// serves from a background thread.
    pub fn start(addr: SocketAddr, shared: Arc<Mutex<Metrics>>) -> crate::Result<Exporter> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("zktraffic-metrics".into())
            .spawn(move || serve(listener, &shared, &flag))?;
        Ok(Exporter {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, finishes the request in progress, and joins the thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        self.stop.store(true, Ordering::SeqCst);
        // accept() blocks; a connection of our own wakes it to see the flag.
        let wake = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => {
                SocketAddr::new(Ipv4Addr::LOCALHOST.into(), self.addr.port())
            }
            IpAddr::V6(ip) if ip.is_unspecified() => {
                SocketAddr::new(Ipv6Addr::LOCALHOST.into(), self.addr.port())
            }
            _ => self.addr,
        };
        if TcpStream::connect_timeout(&wake, IO_TIMEOUT).is_ok() {
            let _ = thread.join();
        }
        // Otherwise the thread stays parked in accept() and goes with the process.
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn serve(listener: TcpListener, shared: &Mutex<Metrics>, stop: &AtomicBool) {
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        match conn {
            Ok(stream) => {
                let _ = handle(stream, shared);
            }
            // Out of file descriptors and the like: do not spin.
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

fn lock(shared: &Mutex<Metrics>) -> MutexGuard<'_, Metrics> {
    // A panic elsewhere while holding the lock leaves counters that are still
    // worth serving.
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

const INDEX: &str = "<!DOCTYPE html>\n<html><head><title>zktraffic</title></head>\n<body><h1>zktraffic</h1><p><a href=\"/metrics\">Metrics</a></p></body></html>\n";

fn handle(mut stream: TcpStream, shared: &Mutex<Metrics>) -> io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        if head.len() > MAX_REQUEST_HEAD {
            return respond(
                &mut stream,
                "431 Request Header Fields Too Large",
                "text/plain",
                b"too large\n",
                false,
            );
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return respond(
            &mut stream,
            "400 Bad Request",
            "text/plain",
            b"bad request\n",
            false,
        );
    };
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return respond(
            &mut stream,
            "405 Method Not Allowed",
            "text/plain",
            b"GET or HEAD only\n",
            false,
        );
    }
    let path = target.split(['?', '#']).next().unwrap_or_default();
    match path {
        "/metrics" => {
            let body = lock(shared).encode();
            respond(
                &mut stream,
                "200 OK",
                "text/plain; version=0.0.4; charset=utf-8",
                body.as_bytes(),
                head_only,
            )
        }
        "/" => respond(
            &mut stream,
            "200 OK",
            "text/html; charset=utf-8",
            INDEX.as_bytes(),
            head_only,
        ),
        _ => respond(
            &mut stream,
            "404 Not Found",
            "text/plain",
            b"not found; try /metrics\n",
            head_only,
        ),
    }
}

fn respond(
    stream: &mut TcpStream,
    status: &str,
    ctype: &str,
    body: &[u8],
    head_only: bool,
) -> io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if status.starts_with("405") {
        out.push_str("Allow: GET, HEAD\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if !head_only {
        bytes.extend_from_slice(body);
    }
    stream.write_all(&bytes)?;
    stream.flush()?;
    let _ = stream.shutdown(std::net::Shutdown::Write);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prometheus::tests::{get, parse};
    use crate::prometheus::MetricsConfig;
    use crate::stats::test_events::*;
    use zkproto::OpCode;

    fn http(addr: SocketAddr, request: &str) -> (String, String, String) {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        let (head, body) = resp.split_once("\r\n\r\n").expect("a complete response");
        let status = head.lines().next().unwrap().to_string();
        let ctype = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Type: "))
            .unwrap_or_default()
            .to_string();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        if !request.starts_with("HEAD") {
            assert_eq!(len, body.len());
        }
        (status, ctype, body.to_string())
    }

    #[test]
    fn serves_metrics_over_http() {
        let shared = Metrics::shared(MetricsConfig::default());
        let exporter =
            Exporter::start("127.0.0.1:0".parse().unwrap(), Arc::clone(&shared)).unwrap();
        let addr = exporter.local_addr();
        assert_ne!(addr.port(), 0);

        let get_metrics = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
        let (status, ctype, body) = http(addr, get_metrics);
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert_eq!(ctype, "text/plain; version=0.0.4; charset=utf-8");
        assert_eq!(get(&parse(&body), "zktraffic_connections_total"), 0.0);

        for lat in [1, 2, 3] {
            lock(&shared).observe(&ev(exchange(
                "10.0.0.2:5000",
                OpCode::GetData,
                Some("/a"),
                ms(0),
                ms(lat),
            )));
        }
        let (_, _, body) = http(addr, "GET /metrics?x=1 HTTP/1.0\r\n\r\n");
        let m = parse(&body);
        assert_eq!(get(&m, r#"zktraffic_requests_total{op="getData"}"#), 3.0);
        assert_eq!(
            get(
                &m,
                r#"zktraffic_request_latency_seconds_bucket{op="getData",le="0.0025"}"#
            ),
            2.0
        );

        let (status, ctype, body) = http(addr, "GET / HTTP/1.1\r\n\r\n");
        assert_eq!(
            (status.as_str(), ctype.as_str()),
            ("HTTP/1.1 200 OK", "text/html; charset=utf-8")
        );
        assert!(body.contains("href=\"/metrics\""));
        assert_eq!(
            http(addr, "GET /nope HTTP/1.1\r\n\r\n").0,
            "HTTP/1.1 404 Not Found"
        );
        assert_eq!(
            http(addr, "POST /metrics HTTP/1.1\r\n\r\n").0,
            "HTTP/1.1 405 Method Not Allowed"
        );
        let (status, _, body) = http(addr, "HEAD /metrics HTTP/1.1\r\n\r\n");
        assert_eq!((status.as_str(), body.as_str()), ("HTTP/1.1 200 OK", ""));
        assert_eq!(http(addr, "\r\n\r\n").0, "HTTP/1.1 400 Bad Request");

        exporter.stop();
        assert!(
            TcpStream::connect(addr).is_err(),
            "still listening after stop"
        );
    }
}

//! `--raw FILE.csv`: every measured sample, one row each, for analysis
//! elsewhere. Warm-up samples are not measurements and are left out, so the
//! rows of a phase add up to the counts in its histograms.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct Sample {
    pub phase: &'static str,
    /// The server the sample was taken on (the watcher, for notifications).
    pub server: String,
    pub op: String,
    /// When the request was sent (open loop: when it was due), µs since the
    /// run started.
    pub start_us: u64,
    pub latency_us: u64,
}

pub const HEADER: &str = "phase,server,op,start_us,latency_us";

/// RFC 4180 quoting, needed only if a field has a comma or a quote.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn write_csv(path: &Path, samples: &[Sample]) -> Result<()> {
    let err = |source| Error::Output {
        path: path.display().to_string(),
        source,
    };
    let f = std::fs::File::create(path).map_err(err)?;
    let mut w = std::io::BufWriter::new(f);
    writeln!(w, "{HEADER}").map_err(err)?;
    let mut sorted: Vec<&Sample> = samples.iter().collect();
    sorted.sort_by_key(|s| s.start_us);
    for s in sorted {
        writeln!(
            w,
            "{},{},{},{},{}",
            s.phase,
            field(&s.server),
            field(&s.op),
            s.start_us,
            s.latency_us
        )
        .map_err(err)?;
    }
    w.flush().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_order() {
        let dir = std::env::temp_dir().join(format!("zksmoketest-raw-{}", std::process::id()));
        let s = |start_us, op: &str| Sample {
            phase: "read",
            server: "h:1".into(),
            op: op.into(),
            start_us,
            latency_us: 7,
        };
        write_csv(&dir, &[s(20, "a,\"b\""), s(10, "exists")]).unwrap();
        let text = std::fs::read_to_string(&dir).unwrap();
        let _ = std::fs::remove_file(&dir);
        assert_eq!(
            text,
            format!("{HEADER}\nread,h:1,exists,10,7\nread,h:1,\"a,\"\"b\"\"\",20,7\n")
        );
    }
}

//! Small blobs replaced whole and atomically, each checked by a CRC.
//!
//! ```text
//! 0..8    magic "zkwalmt1"
//! 8..12   payload length, u32 LE
//! 12..16  CRC-32 of bytes 8..12 and the payload, LE
//! 16..    payload
//! ```
//!
//! The rename makes a crash leave either the old blob or the new one; the
//! CRC catches what a rename cannot, such as a disk returning bad sectors,
//! so a damaged vote is refused instead of decoded into some other vote.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use crate::{Error, Result};

const MAGIC: &[u8; 8] = b"zkwalmt1";
const HEADER_LEN: usize = 16;

fn encode(payload: &[u8]) -> Result<Vec<u8>> {
    let len = u32::try_from(payload.len())
        .map_err(|_| Error::Wal(format!("a {}-byte meta blob is too big", payload.len())))?;
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&len.to_le_bytes());
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len.to_le_bytes());
    crc.update(payload);
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(payload);
    Ok(out)
}

fn decode(path: &Path, buf: &[u8]) -> Result<Vec<u8>> {
    let corrupt = |msg: &str| Error::Corrupt {
        path: path.to_path_buf(),
        msg: msg.into(),
    };
    if buf.len() < HEADER_LEN || &buf[..8] != MAGIC {
        return Err(corrupt("not a meta blob (bad magic or too short)"));
    }
    let mut word = [0u8; 4];
    word.copy_from_slice(&buf[8..12]);
    let len = u32::from_le_bytes(word);
    word.copy_from_slice(&buf[12..16]);
    let stored_crc = u32::from_le_bytes(word);
    let payload = &buf[HEADER_LEN..];
    if payload.len() as u64 != u64::from(len) {
        return Err(corrupt("length does not match the file size"));
    }
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len.to_le_bytes());
    crc.update(payload);
    if crc.finalize() != stored_crc {
        return Err(corrupt("checksum mismatch"));
    }
    Ok(payload.to_vec())
}

/// Replaces `dir/file_name` with a blob holding `payload`: write a temporary
/// file, flush it, rename it over the old one, then flush the directory so
/// the rename itself survives a crash.
pub(super) fn write(dir: &Path, file_name: &str, payload: &[u8], fsync: bool) -> Result<()> {
    let bytes = encode(payload)?;
    let path = dir.join(file_name);
    let tmp = dir.join(format!("{file_name}.tmp"));
    let io = |what: &str, p: &Path, e| Error::io(format!("{what} {}", p.display()), e);
    let mut f = File::create(&tmp).map_err(|e| io("create", &tmp, e))?;
    f.write_all(&bytes).map_err(|e| io("write", &tmp, e))?;
    if fsync {
        f.sync_all().map_err(|e| io("fsync", &tmp, e))?;
    }
    drop(f);
    fs::rename(&tmp, &path).map_err(|e| io("rename to", &path, e))?;
    if fsync {
        sync_dir(dir)?;
    }
    Ok(())
}

pub(super) fn read(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(buf) => decode(path, &buf).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(format!("read {}", path.display()), e)),
    }
}

/// Makes creations, renames and removals of entries in `dir` durable.
pub(super) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(format!("fsync directory {}", dir.display()), e))
}

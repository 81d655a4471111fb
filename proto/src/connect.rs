//! The session handshake. It is the one exchange without a request or reply
//! header, and both records may end with an optional readOnly byte
//! (clients and servers older than 3.4 omit it).

use crate::error::{ProtoError, Result};
use crate::jute::{JuteWrite, Reader, Record};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectRequest<'a> {
    pub protocol_version: i32,
    pub last_zxid_seen: i64,
    pub timeout_ms: i32,
    pub session_id: i64,
    pub passwd: Option<&'a [u8]>,
    /// `None` when the client did not send the trailing byte.
    pub read_only: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectResponse<'a> {
    pub protocol_version: i32,
    /// 0 tells the client its session has expired.
    pub timeout_ms: i32,
    pub session_id: i64,
    pub passwd: Option<&'a [u8]>,
    pub read_only: Option<bool>,
}

fn trailing_read_only(r: &mut Reader<'_>, what: &'static str) -> Result<Option<bool>> {
    match r.remaining() {
        0 => Ok(None),
        1 => r.bool(what).map(Some),
        count => Err(ProtoError::TrailingBytes { what, count }),
    }
}

impl<'a> Record<'a> for ConnectRequest<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Self> {
        Ok(ConnectRequest {
            protocol_version: r.i32("ConnectRequest.protocolVersion")?,
            last_zxid_seen: r.i64("ConnectRequest.lastZxidSeen")?,
            timeout_ms: r.i32("ConnectRequest.timeOut")?,
            session_id: r.i64("ConnectRequest.sessionId")?,
            passwd: r.buffer("ConnectRequest.passwd")?,
            read_only: trailing_read_only(r, "ConnectRequest.readOnly")?,
        })
    }
    fn write(&self, w: &mut Vec<u8>) {
        w.put_i32(self.protocol_version);
        w.put_i64(self.last_zxid_seen);
        w.put_i32(self.timeout_ms);
        w.put_i64(self.session_id);
        w.put_buffer(self.passwd);
        if let Some(ro) = self.read_only {
            w.put_bool(ro);
        }
    }
}

impl<'a> Record<'a> for ConnectResponse<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Self> {
        Ok(ConnectResponse {
            protocol_version: r.i32("ConnectResponse.protocolVersion")?,
            timeout_ms: r.i32("ConnectResponse.timeOut")?,
            session_id: r.i64("ConnectResponse.sessionId")?,
            passwd: r.buffer("ConnectResponse.passwd")?,
            read_only: trailing_read_only(r, "ConnectResponse.readOnly")?,
        })
    }
    fn write(&self, w: &mut Vec<u8>) {
        w.put_i32(self.protocol_version);
        w.put_i32(self.timeout_ms);
        w.put_i64(self.session_id);
        w.put_buffer(self.passwd);
        if let Some(ro) = self.read_only {
            w.put_bool(ro);
        }
    }
}

impl ConnectRequest<'_> {
    /// Body sizes of a handshake with a 16-byte password: without and with readOnly.
    pub const WIRE_LENS: [usize; 2] = [44, 45];
}

impl ConnectResponse<'_> {
    pub const WIRE_LENS: [usize; 2] = [36, 37];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_with_and_without_read_only() {
        let pw = [7u8; 16];
        let mut req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 5,
            timeout_ms: 30000,
            session_id: 0,
            passwd: Some(&pw),
            read_only: None,
        };
        assert_eq!(req.to_vec().len(), 44);
        req.read_only = Some(false);
        let bytes = req.to_vec();
        assert_eq!(bytes.len(), 45);
        assert_eq!(ConnectRequest::decode(&bytes).unwrap(), req);

        let resp = ConnectResponse {
            protocol_version: 0,
            timeout_ms: 0,
            session_id: 1,
            passwd: Some(&pw),
            read_only: None,
        };
        assert_eq!(resp.to_vec().len(), 36);
    }

    #[test]
    fn two_trailing_bytes_are_rejected() {
        let pw = [0u8; 16];
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            timeout_ms: 1,
            session_id: 0,
            passwd: Some(&pw),
            read_only: Some(true),
        };
        let mut bytes = req.to_vec();
        bytes.push(0);
        assert!(ConnectRequest::decode(&bytes).is_err());
    }
}

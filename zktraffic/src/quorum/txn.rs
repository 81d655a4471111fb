//! Transactions as the leader proposes them: a `TxnHeader`, the txn record
//! its type selects (`org.apache.zookeeper.txn` in `zookeeper.jute`) and, from
//! 3.6 on, an optional `TxnDigest`. Also the body of a learner's REQUEST
//! (session, cxid, opcode, then the client request record).
//!
//! Record layouts follow Apache ZooKeeper's `zookeeper.jute`; the code is ours.

use serde_json::{json, Map, Value};
use zkproto::{perms, ErrorCode, OpCode, Reader, Request};

use super::hex;

/// Txn type codes that are not client opcodes.
const TXN_ERROR: i32 = -1;

/// How many multi sub-ops a summary names before abbreviating.
const SUMMARY_MULTI_OPS: usize = 6;

/// A decoded transaction: a one-line description and structured fields.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DecodedTxn {
    pub zxid: i64,
    /// `session=0x… cxid=N <op> <path> …`
    pub summary: String,
    pub fields: Value,
}

type R<T> = Result<T, String>;

fn err(e: zkproto::ProtoError) -> String {
    e.to_string()
}

/// The name of a txn (or request) type code.
pub(crate) fn txn_type_name(code: i32) -> String {
    if code == TXN_ERROR {
        return "error".to_string();
    }
    match OpCode::from_i32(code) {
        Some(op) => op.name().to_string(),
        None => format!("op{code}"),
    }
}

/// Masks the secret half of a `digest` id (`user:hash` → `user:***`).
fn mask_id(scheme: &str, id: &str) -> String {
    if scheme == "digest" {
        match id.split_once(':') {
            Some((user, _)) => format!("{user}:***"),
            None => "***".to_string(),
        }
    } else {
        id.to_string()
    }
}

pub(crate) fn id_json(scheme: &str, id: &str) -> Value {
    json!({ "scheme": scheme, "id": mask_id(scheme, id) })
}

fn read_acls(r: &mut Reader<'_>) -> R<Vec<Value>> {
    r.vec("acl", 12, |r| {
        let p = r.i32("acl.perms")?;
        let scheme = r.ustring("acl.scheme")?;
        let id = r.ustring("acl.id")?;
        Ok(json!({ "perms": perms::render(p), "scheme": scheme, "id": mask_id(scheme, id) }))
    })
    .map_err(err)
}

fn acl_summary(acl: &[Value]) -> String {
    let parts: Vec<String> = acl
        .iter()
        .map(|a| {
            format!(
                "{}:{}:{}",
                a["scheme"].as_str().unwrap_or("?"),
                a["id"].as_str().unwrap_or("?"),
                a["perms"].as_str().unwrap_or("")
            )
        })
        .collect();
    parts.join(",")
}

fn data_len(d: Option<&[u8]>) -> Value {
    match d {
        Some(b) => json!(b.len()),
        None => Value::Null,
    }
}

/// Reads one txn record of type `code` (not multi) into `fields`; returns
/// the description (`create /foo ephemeral`).
fn read_record(code: i32, r: &mut Reader<'_>, fields: &mut Map<String, Value>) -> R<String> {
    let name = txn_type_name(code);
    let op = OpCode::from_i32(code);
    let desc = match (code, op) {
        (TXN_ERROR, _) => {
            let e = r.i32("ErrorTxn.err").map_err(err)?;
            let ec = ErrorCode(e);
            fields.insert("err".into(), json!(e));
            fields.insert("err_name".into(), json!(ec.to_string()));
            format!("error {ec}")
        }
        (_, Some(OpCode::Create | OpCode::Create2)) => {
            // CreateTxn, or the V0 layout without parentCVersion.
            let path = r.ustring("CreateTxn.path").map_err(err)?;
            let data = r.buffer("CreateTxn.data").map_err(err)?;
            let acl = read_acls(r)?;
            let ephemeral = r.bool("CreateTxn.ephemeral").map_err(err)?;
            fields.insert("path".into(), json!(path));
            fields.insert("data_len".into(), data_len(data));
            fields.insert("acl".into(), Value::Array(acl));
            fields.insert("ephemeral".into(), json!(ephemeral));
            // parentCVersion is absent only in the V0 layout; a digest (12
            // bytes) or nothing may follow.
            if r.remaining() == 4 || r.remaining() == 16 {
                let pcv = r.i32("CreateTxn.parentCVersion").map_err(err)?;
                fields.insert("parent_cversion".into(), json!(pcv));
            }
            format!("{name} {path}{}", if ephemeral { " ephemeral" } else { "" })
        }
        (_, Some(OpCode::CreateTtl)) => {
            let path = r.ustring("CreateTTLTxn.path").map_err(err)?;
            let data = r.buffer("CreateTTLTxn.data").map_err(err)?;
            let acl = read_acls(r)?;
            let pcv = r.i32("CreateTTLTxn.parentCVersion").map_err(err)?;
            let ttl = r.i64("CreateTTLTxn.ttl").map_err(err)?;
            fields.insert("path".into(), json!(path));
            fields.insert("data_len".into(), data_len(data));
            fields.insert("acl".into(), Value::Array(acl));
            fields.insert("parent_cversion".into(), json!(pcv));
            fields.insert("ttl_ms".into(), json!(ttl));
            format!("{name} {path} ttl={ttl}ms")
        }
        (_, Some(OpCode::CreateContainer)) => {
            let path = r.ustring("CreateContainerTxn.path").map_err(err)?;
            let data = r.buffer("CreateContainerTxn.data").map_err(err)?;
            let acl = read_acls(r)?;
            let pcv = r.i32("CreateContainerTxn.parentCVersion").map_err(err)?;
            fields.insert("path".into(), json!(path));
            fields.insert("data_len".into(), data_len(data));
            fields.insert("acl".into(), Value::Array(acl));
            fields.insert("parent_cversion".into(), json!(pcv));
            format!("{name} {path}")
        }
        (_, Some(OpCode::Delete | OpCode::DeleteContainer)) => {
            let path = r.ustring("DeleteTxn.path").map_err(err)?;
            fields.insert("path".into(), json!(path));
            format!("{name} {path}")
        }
        (_, Some(OpCode::SetData | OpCode::Reconfig)) => {
            let path = r.ustring("SetDataTxn.path").map_err(err)?;
            let data = r.buffer("SetDataTxn.data").map_err(err)?;
            let version = r.i32("SetDataTxn.version").map_err(err)?;
            fields.insert("path".into(), json!(path));
            fields.insert("data_len".into(), data_len(data));
            fields.insert("version".into(), json!(version));
            if op == Some(OpCode::Reconfig) {
                // The new ensemble configuration: server list, no secrets.
                let cfg = String::from_utf8_lossy(data.unwrap_or_default()).into_owned();
                if let Some(v) = config_version(&cfg) {
                    fields.insert("config_version".into(), json!(hex(v)));
                }
                fields.insert("config".into(), json!(cfg));
            }
            format!("{name} {path} version={version}")
        }
        (_, Some(OpCode::SetAcl)) => {
            let path = r.ustring("SetACLTxn.path").map_err(err)?;
            let acl = read_acls(r)?;
            let version = r.i32("SetACLTxn.version").map_err(err)?;
            let s = acl_summary(&acl);
            fields.insert("path".into(), json!(path));
            fields.insert("acl".into(), Value::Array(acl));
            fields.insert("version".into(), json!(version));
            format!("{name} {path} version={version} acl={s}")
        }
        (_, Some(OpCode::Check)) => {
            let path = r.ustring("CheckVersionTxn.path").map_err(err)?;
            let version = r.i32("CheckVersionTxn.version").map_err(err)?;
            fields.insert("path".into(), json!(path));
            fields.insert("version".into(), json!(version));
            format!("{name} {path} version={version}")
        }
        (_, Some(OpCode::CreateSession)) => {
            let t = r.i32("CreateSessionTxn.timeOut").map_err(err)?;
            fields.insert("timeout_ms".into(), json!(t));
            format!("{name} timeout={t}ms")
        }
        (_, Some(OpCode::CloseSession)) => {
            // CloseSessionTxn (3.6+, when enabled) or nothing; a digest may
            // follow either way, so only a vector that fits exactly is taken.
            let mut probe = r.clone();
            let paths = probe.strings("CloseSessionTxn.paths2Delete");
            match paths {
                Ok(p) if probe.remaining() == 0 || probe.remaining() == 12 => {
                    *r = probe;
                    let n = p.len();
                    fields.insert("paths_to_delete".into(), json!(p));
                    if n > 0 {
                        format!("{name} ephemerals={n}")
                    } else {
                        name
                    }
                }
                _ => name,
            }
        }
        _ => return Err(format!("unsupported txn type {code}")),
    };
    Ok(desc)
}

fn read_multi(r: &mut Reader<'_>, fields: &mut Map<String, Value>) -> R<String> {
    let n = r.i32("MultiTxn.txns").map_err(err)?;
    // Each Txn is at least 8 bytes (type + buffer length).
    if n < 0 || (n as usize).saturating_mul(8) > r.remaining() {
        return Err(format!("MultiTxn: bad op count {n}"));
    }
    let mut ops = Vec::with_capacity(n as usize);
    let mut descs = Vec::new();
    for _ in 0..n {
        let t = r.i32("Txn.type").map_err(err)?;
        let body = r.buffer("Txn.data").map_err(err)?.unwrap_or_default();
        let mut f = Map::new();
        f.insert("type".into(), json!(txn_type_name(t)));
        f.insert("type_code".into(), json!(t));
        let mut sub = Reader::new(body);
        let d = if OpCode::from_i32(t) == Some(OpCode::Multi) {
            Err("nested multi".to_string())
        } else {
            read_record(t, &mut sub, &mut f)
        };
        match d {
            Ok(d) if sub.is_empty() => descs.push(d),
            Ok(_) => {
                f.insert("error".into(), json!("trailing bytes in sub-txn"));
                descs.push(txn_type_name(t));
            }
            Err(e) => {
                f.insert("error".into(), json!(e));
                descs.push(txn_type_name(t));
            }
        }
        ops.push(Value::Object(f));
    }
    let count = ops.len();
    fields.insert("ops".into(), Value::Array(ops));
    let mut s = format!("multi({count})");
    for (i, d) in descs.iter().take(SUMMARY_MULTI_OPS).enumerate() {
        s.push_str(if i == 0 { ": " } else { ", " });
        s.push_str(d);
    }
    if count > SUMMARY_MULTI_OPS {
        s.push_str(&format!(", …+{}", count - SUMMARY_MULTI_OPS));
    }
    Ok(s)
}

/// Decodes `TxnHeader` + txn record + optional `TxnDigest`, as carried by
/// PROPOSAL and INFORM (and INFORMANDACTIVATE after its leader id).
pub(crate) fn decode_txn(data: &[u8]) -> R<DecodedTxn> {
    let mut r = Reader::new(data);
    let session = r.i64("TxnHeader.clientId").map_err(err)?;
    let cxid = r.i32("TxnHeader.cxid").map_err(err)?;
    let zxid = r.i64("TxnHeader.zxid").map_err(err)?;
    let time = r.i64("TxnHeader.time").map_err(err)?;
    let ttype = r.i32("TxnHeader.type").map_err(err)?;
    let mut f = Map::new();
    f.insert("session".into(), json!(hex(session)));
    f.insert("cxid".into(), json!(cxid));
    f.insert("zxid".into(), json!(hex(zxid)));
    f.insert("time_ms".into(), json!(time));
    f.insert("type".into(), json!(txn_type_name(ttype)));
    f.insert("type_code".into(), json!(ttype));
    let desc = if OpCode::from_i32(ttype) == Some(OpCode::Multi) {
        read_multi(&mut r, &mut f)?
    } else {
        read_record(ttype, &mut r, &mut f)?
    };
    match r.remaining() {
        0 => {}
        12 => {
            let v = r.i32("TxnDigest.version").map_err(err)?;
            let d = r.i64("TxnDigest.treeDigest").map_err(err)?;
            f.insert(
                "digest".into(),
                json!({ "version": v, "tree_digest": hex(d) }),
            );
        }
        n => {
            return Err(format!(
                "{n} trailing bytes after {} txn",
                txn_type_name(ttype)
            ))
        }
    }
    Ok(DecodedTxn {
        zxid,
        summary: format!("session={} cxid={cxid} {desc}", hex(session)),
        fields: Value::Object(f),
    })
}

/// A one-line description of a client request (`create /foo`).
fn describe_request(req: &Request<'_>) -> String {
    let name = match req.op() {
        Some(op) => op.name().to_string(),
        None => format!("op{}", req.opcode()),
    };
    match req {
        Request::Multi(m) | Request::MultiRead(m) => {
            let mut s = format!("{name}({})", m.ops.len());
            for (i, op) in m.ops.iter().take(SUMMARY_MULTI_OPS).enumerate() {
                s.push_str(if i == 0 { ": " } else { ", " });
                s.push_str(&describe_request(op));
            }
            if m.ops.len() > SUMMARY_MULTI_OPS {
                s.push_str(&format!(", …+{}", m.ops.len() - SUMMARY_MULTI_OPS));
            }
            s
        }
        Request::CreateSession(c) => format!("{name} timeout={}ms", c.timeout),
        _ => match req.path() {
            Some(p) => format!("{name} {p}"),
            None => name,
        },
    }
}

fn request_json(req: &Request<'_>) -> Map<String, Value> {
    let mut f = Map::new();
    if let Some(p) = req.path() {
        f.insert("path".into(), json!(p));
    }
    match req {
        Request::Multi(m) | Request::MultiRead(m) => {
            let ops: Vec<Value> = m
                .ops
                .iter()
                .map(|op| {
                    let mut o = request_json(op);
                    o.insert("op".into(), json!(txn_type_name(op.opcode())));
                    Value::Object(o)
                })
                .collect();
            f.insert("ops".into(), Value::Array(ops));
        }
        Request::CreateSession(c) => {
            f.insert("timeout_ms".into(), json!(c.timeout));
        }
        Request::Create(c) | Request::Create2(c) | Request::CreateContainer(c) => {
            f.insert("flags".into(), json!(c.flags));
            f.insert("data_len".into(), data_len(c.data));
        }
        Request::CreateTtl(c) => {
            f.insert("flags".into(), json!(c.flags));
            f.insert("data_len".into(), data_len(c.data));
            f.insert("ttl_ms".into(), json!(c.ttl));
        }
        Request::SetData(s) => {
            f.insert("data_len".into(), data_len(s.data));
            f.insert("version".into(), json!(s.version));
        }
        Request::Delete(d) => {
            f.insert("version".into(), json!(d.version));
        }
        Request::Check(c) => {
            f.insert("version".into(), json!(c.version));
        }
        Request::SetAcl(s) => {
            f.insert("version".into(), json!(s.version));
        }
        _ => {}
    }
    f
}

/// A learner's REQUEST body: session, cxid, opcode, request record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DecodedRequest {
    pub summary: String,
    pub fields: Value,
}

pub(crate) fn decode_request(data: &[u8]) -> R<DecodedRequest> {
    let mut r = Reader::new(data);
    let session = r.i64("request.sessionId").map_err(err)?;
    let cxid = r.i32("request.cxid").map_err(err)?;
    let opcode = r.i32("request.type").map_err(err)?;
    let body = r.rest();
    let mut f = Map::new();
    f.insert("session".into(), json!(hex(session)));
    f.insert("cxid".into(), json!(cxid));
    f.insert("op".into(), json!(txn_type_name(opcode)));
    f.insert("op_code".into(), json!(opcode));
    f.insert("body_len".into(), json!(body.len()));
    let desc = match Request::decode(opcode, body) {
        Ok(req) => {
            f.extend(request_json(&req));
            describe_request(&req)
        }
        Err(e) => {
            f.insert("body_error".into(), json!(e.to_string()));
            format!("{} [undecodable body]", txn_type_name(opcode))
        }
    };
    Ok(DecodedRequest {
        summary: format!("session={} cxid={cxid} {desc}", hex(session)),
        fields: Value::Object(f),
    })
}

/// The `version=` line of a dynamic configuration (hex, as ZooKeeper writes it).
pub(crate) fn config_version(cfg: &str) -> Option<i64> {
    cfg.lines()
        .filter_map(|l| l.trim().strip_prefix("version="))
        .next_back()
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .map(|v| v as i64)
}

#[cfg(test)]
pub(crate) mod build {
    //! Encoders for hand-built test streams.
    use zkproto::JuteWrite;

    pub fn header(w: &mut Vec<u8>, session: i64, cxid: i32, zxid: i64, time: i64, ttype: i32) {
        w.put_i64(session);
        w.put_i32(cxid);
        w.put_i64(zxid);
        w.put_i64(time);
        w.put_i32(ttype);
    }

    pub fn world_acl(w: &mut Vec<u8>) {
        w.put_i32(1);
        w.put_i32(31);
        w.put_ustring("world");
        w.put_ustring("anyone");
    }

    pub fn create_txn(w: &mut Vec<u8>, path: &str, data: &[u8], ephemeral: bool, pcv: i32) {
        w.put_ustring(path);
        w.put_buffer(Some(data));
        world_acl(w);
        w.put_bool(ephemeral);
        w.put_i32(pcv);
    }

    pub fn set_data_txn(w: &mut Vec<u8>, path: &str, data: &[u8], version: i32) {
        w.put_ustring(path);
        w.put_buffer(Some(data));
        w.put_i32(version);
    }

    pub fn digest(w: &mut Vec<u8>) {
        w.put_i32(2);
        w.put_i64(0x1234_5678);
    }
}

#[cfg(test)]
mod tests {
    use super::build::*;
    use super::*;
    use zkproto::JuteWrite;

    #[test]
    fn create_with_digest() {
        let mut w = Vec::new();
        header(&mut w, 0x1000_0abc, 3, 0x1_0000_0005, 1_700_000_000_000, 1);
        create_txn(&mut w, "/foo", b"hi", false, 0);
        digest(&mut w);
        let t = decode_txn(&w).unwrap();
        assert_eq!(t.zxid, 0x1_0000_0005);
        assert_eq!(t.summary, "session=0x10000abc cxid=3 create /foo");
        assert_eq!(t.fields["path"], "/foo");
        assert_eq!(t.fields["data_len"], 2);
        assert_eq!(t.fields["digest"]["version"], 2);
        assert_eq!(t.fields["acl"][0]["perms"], "cdrwa");
    }

    #[test]
    fn create_v0_ephemeral_without_digest() {
        let mut w = Vec::new();
        header(&mut w, 5, 1, 7, 0, 1);
        w.put_ustring("/e");
        w.put_buffer(None);
        world_acl(&mut w);
        w.put_bool(true);
        let t = decode_txn(&w).unwrap();
        assert_eq!(t.summary, "session=0x5 cxid=1 create /e ephemeral");
        assert!(t.fields.get("parent_cversion").is_none());
        assert!(t.fields["data_len"].is_null());
    }

    #[test]
    fn every_simple_txn_type() {
        type Body = Box<dyn Fn(&mut Vec<u8>)>;
        let cases: Vec<(i32, Body, &str)> = vec![
            (
                -10,
                Box::new(|w: &mut Vec<u8>| w.put_i32(30000)),
                "createSession timeout=30000ms",
            ),
            (-11, Box::new(|_: &mut Vec<u8>| {}), "closeSession"),
            (
                -11,
                Box::new(|w: &mut Vec<u8>| w.put_strings(&["/e1", "/e2"])),
                "closeSession ephemerals=2",
            ),
            (
                2,
                Box::new(|w: &mut Vec<u8>| w.put_ustring("/d")),
                "delete /d",
            ),
            (
                20,
                Box::new(|w: &mut Vec<u8>| w.put_ustring("/c")),
                "deleteContainer /c",
            ),
            (
                5,
                Box::new(|w: &mut Vec<u8>| set_data_txn(w, "/s", b"x", 4)),
                "setData /s version=4",
            ),
            (
                7,
                Box::new(|w: &mut Vec<u8>| {
                    w.put_ustring("/a");
                    w.put_i32(1);
                    w.put_i32(1);
                    w.put_ustring("digest");
                    w.put_ustring("bob:secret");
                    w.put_i32(2);
                }),
                "setACL /a version=2 acl=digest:bob:***:r",
            ),
            (
                -1,
                Box::new(|w: &mut Vec<u8>| w.put_i32(-110)),
                "error NodeExists",
            ),
            (
                21,
                Box::new(|w: &mut Vec<u8>| {
                    w.put_ustring("/t");
                    w.put_buffer(Some(b""));
                    world_acl(w);
                    w.put_i32(0);
                    w.put_i64(5000);
                }),
                "createTTL /t ttl=5000ms",
            ),
            (
                19,
                Box::new(|w: &mut Vec<u8>| {
                    w.put_ustring("/k");
                    w.put_buffer(Some(b""));
                    world_acl(w);
                    w.put_i32(0);
                }),
                "createContainer /k",
            ),
            (
                16,
                Box::new(|w: &mut Vec<u8>| {
                    set_data_txn(
                        w,
                        "/zookeeper/config",
                        b"server.1=a:1:2\nversion=100000003",
                        -1,
                    )
                }),
                "reconfig /zookeeper/config version=-1",
            ),
        ];
        for (code, body, want) in cases {
            for with_digest in [false, true] {
                let mut w = Vec::new();
                header(&mut w, 1, 2, 3, 4, code);
                body(&mut w);
                if with_digest {
                    digest(&mut w);
                }
                let t = decode_txn(&w).unwrap_or_else(|e| panic!("{want}: {e}"));
                assert_eq!(t.summary, format!("session=0x1 cxid=2 {want}"));
            }
        }
    }

    #[test]
    fn reconfig_carries_config_version() {
        let mut w = Vec::new();
        header(&mut w, 1, 2, 3, 4, 16);
        set_data_txn(
            &mut w,
            "/zookeeper/config",
            b"server.1=a:1:2\nversion=100000003",
            -1,
        );
        let t = decode_txn(&w).unwrap();
        assert_eq!(t.fields["config_version"], "0x100000003");
    }

    #[test]
    fn multi_with_sub_txns() {
        let mut w = Vec::new();
        header(&mut w, 9, 4, 0x10, 0, 14);
        w.put_i32(3);
        let mut sub = Vec::new();
        create_txn(&mut sub, "/m", b"", false, 1);
        w.put_i32(1);
        w.put_buffer(Some(&sub));
        sub.clear();
        set_data_txn(&mut sub, "/n", b"zz", 0);
        w.put_i32(5);
        w.put_buffer(Some(&sub));
        sub.clear();
        sub.put_ustring("/c");
        sub.put_i32(0);
        w.put_i32(13);
        w.put_buffer(Some(&sub));
        digest(&mut w);
        let t = decode_txn(&w).unwrap();
        assert_eq!(
            t.summary,
            "session=0x9 cxid=4 multi(3): create /m, setData /n version=0, check /c version=0"
        );
        assert_eq!(t.fields["ops"].as_array().unwrap().len(), 3);
        assert_eq!(t.fields["ops"][2]["type"], "check");
    }

    #[test]
    fn hostile_multi_count_is_refused() {
        let mut w = Vec::new();
        header(&mut w, 9, 4, 0x10, 0, 14);
        w.put_i32(i32::MAX);
        assert!(decode_txn(&w).is_err());
    }

    #[test]
    fn unknown_type_and_trailing_bytes_are_errors() {
        let mut w = Vec::new();
        header(&mut w, 1, 1, 1, 1, 77);
        assert!(decode_txn(&w).is_err());
        let mut w = Vec::new();
        header(&mut w, 1, 1, 1, 1, 2);
        w.put_ustring("/x");
        w.push(0);
        assert!(decode_txn(&w).is_err());
    }

    #[test]
    fn learner_request_body() {
        let mut w = Vec::new();
        w.put_i64(0x77);
        w.put_i32(12);
        w.put_i32(1);
        create_txn(&mut Vec::new(), "/unused", b"", false, 0);
        w.put_ustring("/r");
        w.put_buffer(Some(b"abc"));
        world_acl(&mut w);
        w.put_i32(1);
        let r = decode_request(&w).unwrap();
        assert_eq!(r.summary, "session=0x77 cxid=12 create /r");
        assert_eq!(r.fields["flags"], 1);
        let mut w = Vec::new();
        w.put_i64(0x77);
        w.put_i32(0);
        w.put_i32(-10);
        w.put_i32(4000);
        assert_eq!(
            decode_request(&w).unwrap().summary,
            "session=0x77 cxid=0 createSession timeout=4000ms"
        );
    }
}

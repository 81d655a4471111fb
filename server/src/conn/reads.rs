//! Requests answered from this member's tree, under the state lock so that
//! a read and the watch it arms see the same applied prefix.

use zkproto::{
    perms, AddWatchMode, ClientInfo, ErrorCode, EventType, GetAclResponse, GetChildren2Response,
    GetChildrenResponse, GetDataResponse, IntResponse, MultiResponse, OpResult, PathResponse,
    Request, Response, Stat, WatcherType, WhoAmIResponse,
};

use super::reply;
use crate::acl::{self, AuthInfo};
use crate::db::{ConnId, State};
use crate::tree::{path, Acl, Node};
use crate::watch::WatchKind;

/// Who is reading.
pub struct Reader<'a> {
    pub conn: ConnId,
    pub session: i64,
    pub auth: &'a AuthInfo,
    pub super_digest: Option<&'a str>,
}

impl Reader<'_> {
    fn allowed(&self, node: &Node, perm: i32) -> bool {
        acl::check(&node.acl, perm, self.auth, self.super_digest)
    }
}

type Answer = Result<(Vec<u8>, i32), ErrorCode>;

fn node_for<'t>(st: &'t State, p: &str) -> Result<&'t Node, ErrorCode> {
    // A path the client library would have refused (a NUL, a bad shape)
    // is a bad argument, not a missing node.
    if p.contains('\0') {
        return Err(ErrorCode::BAD_ARGUMENTS);
    }
    st.rep.tree.node(p).ok_or(ErrorCode::NO_NODE)
}

fn readable<'t>(st: &'t State, who: &Reader<'_>, p: &str) -> Result<&'t Node, ErrorCode> {
    let n = node_for(st, p)?;
    if !who.allowed(n, perms::READ) {
        return Err(ErrorCode::NO_AUTH);
    }
    Ok(n)
}

fn body(r: &Response<'_>) -> Vec<u8> {
    let mut b = Vec::new();
    r.write(&mut b);
    b
}

/// getACL hides digest hashes from a reader without ADMIN, as ZooKeeper.
fn shown_acl(acl: &[Acl], admin: bool) -> Vec<Acl> {
    acl.iter()
        .map(|a| {
            if !admin && a.id.scheme == "digest" {
                let user = a.id.id.split(':').next().unwrap_or("");
                Acl::new(a.perms, "digest", &format!("{user}:x"))
            } else {
                a.clone()
            }
        })
        .collect()
}

/// Answers one read, arming any watch it asks for. Returns the reply frame.
pub fn answer(st: &mut State, who: &Reader<'_>, xid_: i32, req: &Request<'_>) -> Vec<u8> {
    let zxid = st.applied_zxid();
    match answer_body(st, who, req) {
        Ok((body_bytes, _)) => {
            let mut out = Vec::with_capacity(body_bytes.len() + 20);
            zkproto::write_frame(&mut out, |w| {
                use zkproto::Record;
                zkproto::ReplyHeader {
                    xid: xid_,
                    zxid,
                    err: ErrorCode::OK,
                }
                .write(w);
                w.extend_from_slice(&body_bytes);
            });
            out
        }
        Err(code) => reply::error(xid_, zxid, code),
    }
}

fn answer_body(st: &mut State, who: &Reader<'_>, req: &Request<'_>) -> Answer {
    let ok = |b: Vec<u8>| Ok((b, 0));
    match req {
        Request::Ping | Request::SetWatches(_) | Request::SetWatches2(_) => ok(Vec::new()),
        Request::Exists(r) => {
            let stat = match node_for(st, r.path) {
                Ok(n) => Some(n.stat()),
                Err(ErrorCode::NO_NODE) => None,
                Err(e) => return Err(e),
            };
            if r.watch {
                // A missing node still arms the watch: it fires on create.
                let kind = if stat.is_some() {
                    WatchKind::Data
                } else {
                    WatchKind::Exist
                };
                st.watches.add(who.conn, r.path, kind);
            }
            match stat {
                Some(s) => ok(body(&Response::Stat(s))),
                None => Err(ErrorCode::NO_NODE),
            }
        }
        Request::GetData(r) => {
            let n = readable(st, who, r.path)?;
            let b = body(&Response::GetData(GetDataResponse {
                data: (!n.null_data).then_some(n.data.as_slice()),
                stat: n.stat(),
            }));
            if r.watch {
                st.watches.add(who.conn, r.path, WatchKind::Data);
            }
            ok(b)
        }
        Request::GetChildren(r) | Request::GetChildren2(r) => {
            let n = readable(st, who, r.path)?;
            let children: Vec<&str> = n.children.iter().map(String::as_str).collect();
            let b = if matches!(req, Request::GetChildren(_)) {
                body(&Response::GetChildren(GetChildrenResponse { children }))
            } else {
                body(&Response::GetChildren2(GetChildren2Response {
                    children,
                    stat: n.stat(),
                }))
            };
            if r.watch {
                st.watches.add(who.conn, r.path, WatchKind::Child);
            }
            ok(b)
        }
        Request::GetAcl(r) => {
            let n = node_for(st, r.path)?;
            if !who.allowed(n, perms::READ | perms::ADMIN) {
                return Err(ErrorCode::NO_AUTH);
            }
            let shown = shown_acl(&n.acl, who.allowed(n, perms::ADMIN));
            let acl = shown.iter().map(Acl::to_proto).collect();
            ok(body(&Response::GetAcl(GetAclResponse {
                acl,
                stat: n.stat(),
            })))
        }
        Request::GetAllChildrenNumber(r) => {
            readable(st, who, r.path)?;
            let n = st.rep.tree.all_children_number(r.path).unwrap_or(0);
            ok(body(&Response::GetAllChildrenNumber(IntResponse {
                value: n as i32,
            })))
        }
        Request::GetEphemerals(r) => {
            let children = st.rep.tree.ephemerals(who.session, r.path);
            ok(body(&Response::GetEphemerals(GetChildrenResponse {
                children,
            })))
        }
        Request::WhoAmI => {
            let infos = who.auth.client_infos();
            let client_info = infos
                .iter()
                .map(|(s, u)| ClientInfo {
                    auth_scheme: s,
                    user: u,
                })
                .collect();
            ok(body(&Response::WhoAmI(WhoAmIResponse { client_info })))
        }
        Request::Sync(r) => ok(body(&Response::Sync(PathResponse { path: r.path }))),
        Request::AddWatch(r) => {
            // ZooKeeper fails to deserialize an unknown mode.
            let kind = WatchKind::from_add_watch_mode(AddWatchMode(r.mode))
                .ok_or(ErrorCode::MARSHALLING_ERROR)?;
            if r.path.contains('\0') || !path::is_valid(r.path, false) {
                return Err(ErrorCode::BAD_ARGUMENTS);
            }
            st.watches.add(who.conn, r.path, kind);
            ok(reply::int_body(0))
        }
        Request::CheckWatches(r) | Request::RemoveWatches(r) => {
            let t = WatcherType(r.watcher_type);
            if !WatcherType::KNOWN.contains(&t) {
                return Err(ErrorCode::MARSHALLING_ERROR);
            }
            let found = if matches!(req, Request::RemoveWatches(_)) {
                st.watches.remove(who.conn, r.path, t)
            } else {
                st.watches.has(who.conn, r.path, t)
            };
            if found {
                ok(Vec::new())
            } else {
                Err(ErrorCode::NO_WATCHER)
            }
        }
        Request::MultiRead(m) => {
            // Each op stands alone: a failure is reported in place and the
            // rest still run. Results are copied out first because the
            // reply borrows them.
            enum Got {
                Data(Option<Vec<u8>>, Stat),
                Children(Vec<String>),
                Failed(ErrorCode),
            }
            let got: Vec<Got> = m
                .ops
                .iter()
                .map(|op| match op {
                    Request::GetData(r) => match readable(st, who, r.path) {
                        Ok(n) => Got::Data((!n.null_data).then(|| n.data.clone()), n.stat()),
                        Err(e) => Got::Failed(e),
                    },
                    Request::GetChildren(r) => match readable(st, who, r.path) {
                        Ok(n) => Got::Children(n.children.iter().cloned().collect()),
                        Err(e) => Got::Failed(e),
                    },
                    _ => Got::Failed(ErrorCode::UNIMPLEMENTED),
                })
                .collect();
            let results = got
                .iter()
                .map(|g| match g {
                    Got::Data(d, s) => OpResult::GetData(GetDataResponse {
                        data: d.as_deref(),
                        stat: *s,
                    }),
                    Got::Children(c) => OpResult::GetChildren(GetChildrenResponse {
                        children: c.iter().map(String::as_str).collect(),
                    }),
                    Got::Failed(e) => OpResult::Error(e.0),
                })
                .collect();
            ok(body(&Response::Multi(MultiResponse { results })))
        }
        _ => Err(ErrorCode::UNIMPLEMENTED),
    }
}

/// setWatches / setWatches2 on reconnect: re-arms the watches, and fires at
/// once those whose condition changed after `relative_zxid` (the last zxid
/// the client saw). Returns the notification frames to send before the reply.
pub fn set_watches(st: &mut State, conn: ConnId, req: &Request<'_>) -> Vec<Vec<u8>> {
    let (rel, data, exist, child, persistent, recursive) = match req {
        Request::SetWatches(s) => (
            s.relative_zxid,
            &s.data_watches,
            &s.exist_watches,
            &s.child_watches,
            None,
            None,
        ),
        Request::SetWatches2(s) => (
            s.relative_zxid,
            &s.data_watches,
            &s.exist_watches,
            &s.child_watches,
            Some(&s.persistent_watches),
            Some(&s.persistent_recursive_watches),
        ),
        _ => return Vec::new(),
    };
    let zxid = st.applied_zxid();
    let mut out = Vec::new();
    let mut fire = |e: EventType, p: &str| out.push(reply::notification(e.0, p, zxid));
    for p in data {
        match st.rep.tree.node(p) {
            None => fire(EventType::NODE_DELETED, p),
            Some(n) if n.mzxid > rel => fire(EventType::NODE_DATA_CHANGED, p),
            Some(_) => {
                st.watches.add(conn, p, WatchKind::Data);
            }
        }
    }
    for p in exist {
        match st.rep.tree.node(p) {
            Some(_) => fire(EventType::NODE_CREATED, p),
            None => {
                st.watches.add(conn, p, WatchKind::Exist);
            }
        }
    }
    for p in child {
        match st.rep.tree.node(p) {
            None => fire(EventType::NODE_DELETED, p),
            Some(n) if n.pzxid > rel => fire(EventType::NODE_CHILDREN_CHANGED, p),
            Some(_) => {
                st.watches.add(conn, p, WatchKind::Child);
            }
        }
    }
    for p in persistent.into_iter().flatten() {
        st.watches.add(conn, p, WatchKind::Persistent);
    }
    for p in recursive.into_iter().flatten() {
        st.watches.add(conn, p, WatchKind::PersistentRecursive);
    }
    out
}

/// The opcodes answered here rather than through the log.
pub fn is_read(req: &Request<'_>) -> bool {
    matches!(
        req,
        Request::Ping
            | Request::Exists(_)
            | Request::GetData(_)
            | Request::GetChildren(_)
            | Request::GetChildren2(_)
            | Request::GetAcl(_)
            | Request::GetAllChildrenNumber(_)
            | Request::GetEphemerals(_)
            | Request::WhoAmI
            | Request::Sync(_)
            | Request::AddWatch(_)
            | Request::CheckWatches(_)
            | Request::RemoveWatches(_)
            | Request::MultiRead(_)
            | Request::SetWatches(_)
            | Request::SetWatches2(_)
    )
}

//! A few words about a request's arguments and a reply's result, for the
//! human output. Secrets (auth data, SASL tokens, passwords) are never shown.

use std::fmt::Write;

use zkproto::{perms, Acl, CreateMode, OpResult, Request, Response, WatcherType};

fn acl_list(acl: &[Acl<'_>]) -> String {
    acl.iter()
        .map(|a| {
            format!(
                "{}:{}:{}",
                a.id.scheme,
                mask_id(a.id.scheme, a.id.id.unwrap_or("null")),
                perms::render(a.perms)
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// digest ids are `user:base64(sha1)`: the hash is a password equivalent.
fn mask_id(scheme: &str, id: &str) -> String {
    match scheme {
        "digest" => match id.split_once(':') {
            Some((user, _)) => format!("{user}:****"),
            None => "****".to_string(),
        },
        _ => id.to_string(),
    }
}

fn bytes(data: Option<&[u8]>) -> String {
    match data {
        None => "null".to_string(),
        Some(d) => format!("{}B", d.len()),
    }
}

fn mode(flags: i32) -> String {
    match CreateMode::from_flags(flags) {
        Some(CreateMode::Persistent) => String::new(),
        Some(m) => format!(
            " {}",
            serde_json::to_value(m)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        ),
        None => format!(" flags={flags}"),
    }
}

fn watch(w: bool) -> &'static str {
    if w {
        " watch"
    } else {
        ""
    }
}

/// Arguments of a request, after its path (which is shown separately).
pub fn request(req: &Request<'_>) -> String {
    use Request as Q;
    match req {
        Q::Create(c) | Q::Create2(c) | Q::CreateContainer(c) => {
            format!(
                "{}{} acl={}",
                bytes(c.data),
                mode(c.flags),
                acl_list(&c.acl)
            )
        }
        Q::CreateTtl(c) => format!(
            "{}{} ttl={}ms acl={}",
            bytes(c.data),
            mode(c.flags),
            c.ttl,
            acl_list(&c.acl)
        ),
        Q::Delete(d) => format!("v={}", d.version),
        Q::Exists(p) | Q::GetData(p) | Q::GetChildren(p) | Q::GetChildren2(p) => {
            watch(p.watch).trim().to_string()
        }
        Q::SetData(s) => format!("{} v={}", bytes(s.data), s.version),
        Q::SetAcl(s) => format!("{} v={}", acl_list(&s.acl), s.version),
        Q::Check(c) => format!("v={}", c.version),
        Q::Multi(m) | Q::MultiRead(m) => {
            let ops: Vec<String> = m
                .ops
                .iter()
                .map(|op| {
                    let name = op.op().map(|o| o.name()).unwrap_or("?");
                    match op.path() {
                        Some(p) => format!("{name} {p}"),
                        None => name.to_string(),
                    }
                })
                .collect();
            format!("[{}]", ops.join(", "))
        }
        Q::Reconfig(r) => format!(
            "joining={} leaving={} members={} config={:#x}",
            r.joining_servers.unwrap_or("-"),
            r.leaving_servers.unwrap_or("-"),
            r.new_members.unwrap_or("-"),
            r.cur_config_id
        ),
        Q::CheckWatches(w) | Q::RemoveWatches(w) => WatcherType(w.watcher_type).to_string(),
        Q::AddWatch(a) => zkproto::AddWatchMode(a.mode).to_string(),
        Q::Auth(a) => {
            // Show who, never the secret.
            let who = match (a.scheme, a.auth) {
                ("digest", Some(d)) => {
                    let s = String::from_utf8_lossy(d);
                    format!("{}:****", s.split(':').next().unwrap_or(""))
                }
                (_, Some(d)) => format!("<{}B>", d.len()),
                (_, None) => "null".to_string(),
            };
            format!("{} {}", a.scheme, who)
        }
        Q::Sasl(s) => format!("token <{}>", bytes(s.token)),
        Q::SetWatches(w) => format!(
            "relZxid={:#x} data={} exist={} child={}",
            w.relative_zxid,
            w.data_watches.len(),
            w.exist_watches.len(),
            w.child_watches.len()
        ),
        Q::SetWatches2(w) => format!(
            "relZxid={:#x} data={} exist={} child={} persistent={} recursive={}",
            w.relative_zxid,
            w.data_watches.len(),
            w.exist_watches.len(),
            w.child_watches.len(),
            w.persistent_watches.len(),
            w.persistent_recursive_watches.len()
        ),
        Q::CreateSession(c) => format!("timeout={}ms", c.timeout),
        Q::Unknown { body, .. } => format!("<{}B>", body.len()),
        Q::GetAcl(_)
        | Q::Sync(_)
        | Q::GetEphemerals(_)
        | Q::GetAllChildrenNumber(_)
        | Q::DeleteContainer { .. }
        | Q::Ping
        | Q::WhoAmI
        | Q::CloseSession => String::new(),
    }
}

/// The result of a successful reply.
pub fn response(resp: &Response<'_>) -> String {
    use Response as P;
    let mut s = String::new();
    match resp {
        P::Empty => {}
        P::Create(c) | P::Sync(c) => s.push_str(c.path),
        P::Create2(c) => s.push_str(c.path),
        P::Stat(st) => {
            let _ = write!(s, "v={} {}B", st.version, st.data_length);
        }
        P::GetData(g) => {
            let _ = write!(s, "{} v={}", bytes(g.data), g.stat.version);
        }
        P::GetAcl(a) => s.push_str(&acl_list(&a.acl)),
        P::GetChildren(c) | P::GetEphemerals(c) => {
            let _ = write!(s, "{} children", c.children.len());
        }
        P::GetChildren2(c) => {
            let _ = write!(s, "{} children", c.children.len());
        }
        P::Multi(m) => match m.failure() {
            Some((i, code)) => {
                let _ = write!(s, "failed at op {i}: {}", zkproto::ErrorCode(code));
            }
            None => {
                let _ = write!(s, "{} ok", m.results.len());
                if m.results.iter().any(|r| matches!(r, OpResult::Error(_))) {
                    s.push_str(" (with errors)");
                }
            }
        },
        P::Sasl(t) => {
            let _ = write!(s, "token <{}>", bytes(t.token));
        }
        P::GetAllChildrenNumber(n) => {
            let _ = write!(s, "{}", n.value);
        }
        P::AddWatch(_) => {}
        P::WhoAmI(w) => {
            let ids: Vec<String> = w
                .client_info
                .iter()
                .map(|c| format!("{}:{}", c.auth_scheme, c.user))
                .collect();
            s.push_str(&ids.join(","));
        }
        P::Notification(n) => s.push_str(n.path),
        P::Raw(b) => {
            let _ = write!(s, "<{}B>", b.len());
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkproto::{AuthPacket, Id};

    #[test]
    fn secrets_are_masked() {
        let a = Request::Auth(AuthPacket {
            auth_type: 0,
            scheme: "digest",
            auth: Some(b"alice:s3cret"),
        });
        let d = request(&a);
        assert_eq!(d, "digest alice:****");
        assert!(!d.contains("s3cret"));
        let acl = [Acl {
            perms: perms::ALL,
            id: Id {
                scheme: "digest",
                id: Some("bob:HASHHASH="),
            },
        }];
        assert_eq!(acl_list(&acl), "digest:bob:****:cdrwa");
    }

    #[test]
    fn create_modes_are_named() {
        let c = zkproto::CreateRequest {
            path: "/a",
            data: Some(b"xy"),
            acl: vec![Acl::world_anyone(perms::ALL)],
            flags: 3,
        };
        assert_eq!(
            request(&Request::Create(c)),
            "2B ephemeral_sequential acl=world:anyone:cdrwa"
        );
    }
}

//! ZooKeeper's built-in authentication schemes and ACL rules, as pure
//! functions: `world:anyone`, `ip:<addr>[/bits]`, `digest:<user>:<hash>`, the
//! `auth` shorthand of create/setACL, and the super user.
//!
//! Follows ZooKeeper 3.8's ZooKeeperServer.checkACL, PrepRequestProcessor.fixupACL
//! and the Digest/IP authentication providers; `ip` also matches IPv6 as
//! ZooKeeper does since ZOOKEEPER-4240. SASL and x509 are not offered.

use std::net::IpAddr;

use base64::{engine::general_purpose::STANDARD, Engine as _};
use sha1::{Digest, Sha1};
use zkproto::ErrorCode;

use crate::tree::{Acl, Id};

pub const WORLD: &str = "world";
pub const ANYONE: &str = "anyone";
pub const IP: &str = "ip";
pub const DIGEST: &str = "digest";
/// Not a scheme of its own: stands for "every id this connection proved".
pub const AUTH: &str = "auth";

/// `user:base64(sha1("user:password"))`, the id a `digest` ACL names
/// (ZooKeeper's DigestAuthenticationProvider.generateDigest).
pub fn digest(user: &str, password: &str) -> String {
    digest_credentials(&format!("{user}:{password}"))
}

/// The digest id of an addAuth payload `user:password`. The user ends at the
/// first colon; the hash covers the whole payload, colons included.
fn digest_credentials(credentials: &str) -> String {
    let user = credentials.split(':').next().unwrap_or("");
    let hash = Sha1::digest(credentials.as_bytes());
    format!("{user}:{}", STANDARD.encode(hash))
}

/// An addAuth the server refused; ZooKeeper answers AuthFailed and closes the
/// connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("authentication failed: no provider for scheme {scheme:?}")]
pub struct AuthFailed {
    pub scheme: String,
}

impl AuthFailed {
    pub fn code(&self) -> ErrorCode {
        ErrorCode::AUTH_FAILED
    }
}

/// The identities one connection has established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthInfo {
    client_ip: IpAddr,
    /// A set in ZooKeeper; kept in the order proved.
    ids: Vec<Id>,
}

impl AuthInfo {
    /// Every connection starts as `ip:<client address>`. An IPv4 client seen
    /// through a dual-stack socket is recorded as plain IPv4 so IPv4 ACLs
    /// match it.
    pub fn new(client_ip: IpAddr) -> AuthInfo {
        let client_ip = client_ip.to_canonical();
        AuthInfo {
            client_ip,
            ids: vec![ip_id(client_ip)],
        }
    }

    pub fn ids(&self) -> &[Id] {
        &self.ids
    }

    /// Handles an addAuth request. `digest` takes `user:password`; `ip`
    /// re-asserts the client address; any other scheme has no provider.
    pub fn add_auth(&mut self, scheme: &str, auth: &[u8]) -> Result<(), AuthFailed> {
        let id = match scheme {
            // ZooKeeper decodes the payload with the platform charset; bytes
            // that are not UTF-8 cannot match a digest typed as text anyway.
            DIGEST => Id {
                scheme: DIGEST.to_owned(),
                id: digest_credentials(&String::from_utf8_lossy(auth)),
            },
            IP => ip_id(self.client_ip),
            _ => {
                return Err(AuthFailed {
                    scheme: scheme.to_owned(),
                })
            }
        };
        if !self.ids.contains(&id) {
            self.ids.push(id);
        }
        Ok(())
    }

    /// whoAmI: (scheme, user) per id; a digest shows only its user name.
    pub fn client_infos(&self) -> Vec<(String, String)> {
        self.ids
            .iter()
            .map(|id| {
                let user = match id.scheme.as_str() {
                    DIGEST => id.id.split(':').next().unwrap_or("").to_owned(),
                    _ => id.id.clone(),
                };
                (id.scheme.clone(), user)
            })
            .collect()
    }

    /// Whether this connection authenticated as the super user: a digest
    /// equal to the configured `superDigest`.
    pub fn is_super(&self, super_digest: Option<&str>) -> bool {
        super_digest.is_some_and(|sd| self.ids.iter().any(|id| id.scheme == DIGEST && id.id == sd))
    }
}

fn ip_id(ip: IpAddr) -> Id {
    Id {
        scheme: IP.to_owned(),
        id: ip.to_string(),
    }
}

/// Whether `auth` may do `perm` (a `zkproto::perms` bit) on a node with `acl`.
/// An empty list allows everything; the super user may do anything; otherwise
/// some entry carrying the bit must be `world:anyone` or match one of the
/// connection's ids under its scheme.
pub fn check(acl: &[Acl], perm: i32, auth: &AuthInfo, super_digest: Option<&str>) -> bool {
    check_ids(acl, perm, &auth.ids, auth.is_super(super_digest))
}

/// [`check`] over bare ids: what a replicated write carries, so that every
/// member judges it the same way at apply time.
pub fn check_ids(acl: &[Acl], perm: i32, ids: &[Id], is_super: bool) -> bool {
    if acl.is_empty() || is_super {
        return true;
    }
    acl.iter()
        .filter(|a| a.perms & perm != 0)
        .any(|a| match a.id.scheme.as_str() {
            WORLD => a.id.id == ANYONE,
            IP => ids
                .iter()
                .any(|id| id.scheme == IP && ip_matches(&id.id, &a.id.id)),
            DIGEST => ids.iter().any(|id| id.scheme == DIGEST && id.id == a.id.id),
            // A scheme with no provider matches nobody.
            _ => false,
        })
}

/// ZooKeeper's fixupACL for create and setACL: drops duplicates, expands
/// `auth` into the connection's authenticated ids, and rejects anything a
/// provider would not accept.
pub fn fixup(acl: &[zkproto::Acl<'_>], auth: &AuthInfo) -> Result<Vec<Acl>, ErrorCode> {
    let mut unique: Vec<Acl> = Vec::with_capacity(acl.len());
    for a in acl.iter().map(Acl::from) {
        if !unique.contains(&a) {
            unique.push(a);
        }
    }
    if unique.is_empty() {
        return Err(ErrorCode::INVALID_ACL);
    }
    let mut out = Vec::with_capacity(unique.len());
    for a in unique {
        match a.id.scheme.as_str() {
            WORLD if a.id.id == ANYONE => out.push(a),
            AUTH => {
                // Only digest proves an identity; an address is not one.
                let proved: Vec<&Id> = auth.ids.iter().filter(|id| id.scheme == DIGEST).collect();
                if proved.is_empty() {
                    return Err(ErrorCode::INVALID_ACL);
                }
                out.extend(proved.into_iter().map(|id| Acl {
                    perms: a.perms,
                    id: id.clone(),
                }));
            }
            DIGEST if valid_digest_id(&a.id.id) => out.push(a),
            IP if parse_ip_pattern(&a.id.id).is_some() => out.push(a),
            _ => return Err(ErrorCode::INVALID_ACL),
        }
    }
    Ok(out)
}

/// `user:hash`: exactly two fields, where trailing empty ones do not count
/// (ZooKeeper checks `id.split(":").length == 2`).
fn valid_digest_id(id: &str) -> bool {
    let mut fields: Vec<&str> = id.split(':').collect();
    while fields.last() == Some(&"") {
        fields.pop();
    }
    fields.len() == 2
}

/// `addr` or `addr/bits`, bits at most the address length.
fn parse_ip_pattern(pattern: &str) -> Option<(IpAddr, u32)> {
    let (addr, bits) = match pattern.split_once('/') {
        Some((addr, bits)) => (addr, Some(bits)),
        None => (pattern, None),
    };
    let addr: IpAddr = addr.parse().ok()?;
    let width = address_bits(addr);
    let bits = match bits {
        Some(b) => b.parse::<u32>().ok().filter(|&b| b <= width)?,
        None => width,
    };
    Some((addr, bits))
}

fn address_bits(addr: IpAddr) -> u32 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// Whether the connection address `id` lies in the ACL's `addr/bits`.
/// Addresses of different families never match.
fn ip_matches(id: &str, pattern: &str) -> bool {
    let Some((net, bits)) = parse_ip_pattern(pattern) else {
        return false;
    };
    let Ok(client) = id.parse::<IpAddr>() else {
        return false;
    };
    match (net, client) {
        (IpAddr::V4(n), IpAddr::V4(c)) => {
            same_prefix(u128::from(u32::from(n)), u128::from(u32::from(c)), bits, 32)
        }
        (IpAddr::V6(n), IpAddr::V6(c)) => same_prefix(u128::from(n), u128::from(c), bits, 128),
        _ => false,
    }
}

fn same_prefix(a: u128, b: u128, bits: u32, width: u32) -> bool {
    let ignored = width - bits.min(width);
    // A shift by the full 128 bits would overflow; /0 matches everything.
    ignored >= 128 || (a >> ignored) == (b >> ignored)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkproto::perms;

    fn v(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proto(acls: &[(i32, &'static str, &'static str)]) -> Vec<zkproto::Acl<'static>> {
        acls.iter()
            .map(|&(perms, scheme, id)| zkproto::Acl {
                perms,
                id: zkproto::Id {
                    scheme,
                    id: Some(id),
                },
            })
            .collect()
    }

    /// sha1 + base64 by a second implementation, when openssl is installed.
    fn openssl_digest(credentials: &str) -> Option<String> {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg("printf %s \"$1\" | openssl dgst -binary -sha1 | base64")
            .arg("sh")
            .arg(credentials)
            .output()
            .ok()?;
        let text = String::from_utf8(out.stdout).ok()?;
        (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
    }

    #[test]
    fn digest_matches_openssl() {
        let pairs = [
            ("user", "pass"),
            ("super", "s3cr3t"),
            ("bob", "p:w:d"),
            ("", ""),
        ];
        let mut checked = 0;
        for (user, password) in pairs {
            let Some(hash) = openssl_digest(&format!("{user}:{password}")) else {
                println!("note: openssl not available; digest not cross-checked");
                return;
            };
            assert_eq!(digest(user, password), format!("{user}:{hash}"));
            checked += 1;
        }
        assert_eq!(checked, pairs.len());
        // The form: user, colon, 28 base64 characters for 20 bytes.
        let d = digest("user", "pass");
        let (u, h) = d.split_once(':').unwrap();
        assert_eq!((u, h.len()), ("user", 28));
        assert_eq!(STANDARD.decode(h).unwrap().len(), 20);
        assert_ne!(digest("user", "pass"), digest("user", "Pass"));
    }

    #[test]
    fn auth_info_from_a_real_connection() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let _client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_server, peer) = listener.accept().unwrap();
        let auth = AuthInfo::new(peer.ip());
        assert_eq!(
            auth.ids(),
            [Id {
                scheme: "ip".into(),
                id: "127.0.0.1".into()
            }]
        );
        let acl = [Acl::new(perms::READ, "ip", "127.0.0.0/8")];
        assert!(check(&acl, perms::READ, &auth, None));
        assert!(!check(&acl, perms::WRITE, &auth, None));
    }

    #[test]
    fn add_auth_schemes() {
        let mut auth = AuthInfo::new(v("::ffff:10.1.2.3"));
        assert_eq!(auth.ids()[0].id, "10.1.2.3");
        auth.add_auth("digest", b"user:pass").unwrap();
        auth.add_auth("digest", b"user:pass").unwrap();
        auth.add_auth("ip", b"ignored").unwrap();
        auth.add_auth("digest", b"other:pw").unwrap();
        let ids: Vec<String> = auth
            .ids()
            .iter()
            .map(|i| format!("{}:{}", i.scheme, i.id))
            .collect();
        assert_eq!(
            ids,
            [
                "ip:10.1.2.3".to_owned(),
                format!("digest:{}", digest("user", "pass")),
                format!("digest:{}", digest("other", "pw")),
            ]
        );
        for scheme in ["sasl", "x509", "world", "super", "auth", ""] {
            let e = auth.add_auth(scheme, b"user:pass").unwrap_err();
            assert_eq!(e.scheme, scheme);
            assert_eq!(e.code(), ErrorCode::AUTH_FAILED);
        }
        assert_eq!(auth.ids().len(), 3);
    }

    #[test]
    fn super_user() {
        let sd = digest("super", "secret");
        let mut auth = AuthInfo::new(v("192.0.2.1"));
        assert!(!auth.is_super(Some(&sd)));
        auth.add_auth("digest", b"super:wrong").unwrap();
        assert!(!auth.is_super(Some(&sd)));
        auth.add_auth("digest", b"super:secret").unwrap();
        assert!(auth.is_super(Some(&sd)));
        assert!(!auth.is_super(None));
        let locked = [Acl::new(perms::READ, "digest", &digest("alice", "a"))];
        assert!(check(&locked, perms::ALL, &auth, Some(&sd)));
        assert!(!check(&locked, perms::READ, &auth, None));
    }

    #[test]
    fn check_rules() {
        let anon = AuthInfo::new(v("192.0.2.7"));
        let mut alice = anon.clone();
        alice.add_auth("digest", b"alice:a").unwrap();
        let alice_id = digest("alice", "a");

        assert!(check(&[], perms::ADMIN, &anon, None), "an empty ACL allows");
        let open_read = [Acl::world_anyone(perms::READ)];
        assert!(check(&open_read, perms::READ, &anon, None));
        assert!(!check(&open_read, perms::WRITE, &anon, None));
        assert!(!check(
            &[Acl::new(perms::ALL, "world", "someone")],
            perms::READ,
            &anon,
            None
        ));

        let digest_acl = [Acl::new(perms::READ | perms::WRITE, "digest", &alice_id)];
        assert!(check(&digest_acl, perms::WRITE, &alice, None));
        assert!(!check(&digest_acl, perms::DELETE, &alice, None));
        assert!(!check(&digest_acl, perms::READ, &anon, None));
        // Ids are matched by scheme: an ip id equal to the text does not count.
        let weird = [Acl::new(perms::READ, "ip", &alice_id)];
        assert!(!check(&weird, perms::READ, &alice, None));
        let unknown = [Acl::new(perms::READ, "sasl", "alice")];
        assert!(!check(&unknown, perms::READ, &alice, None));

        // Any matching entry suffices.
        let mixed = [
            Acl::new(perms::READ, "digest", &digest("bob", "b")),
            Acl::new(perms::READ, "ip", "192.0.2.0/24"),
        ];
        assert!(check(&mixed, perms::READ, &anon, None));
    }

    #[test]
    fn ip_patterns() {
        let cases = [
            ("10.1.2.3", "10.1.2.3", true),
            ("10.1.2.3", "10.1.2.4", false),
            ("10.1.2.3", "10.1.2.0/24", true),
            ("10.1.3.3", "10.1.2.0/24", false),
            ("10.1.2.3", "10.1.0.0/23", false),
            ("10.1.3.3", "10.1.2.0/23", true),
            ("10.1.2.3", "10.1.2.3/32", true),
            ("10.1.2.3", "0.0.0.0/0", true),
            ("10.1.2.3", "10.1.2.3/33", false),
            ("10.1.2.3", "10.1.2.3/x", false),
            ("10.1.2.3", "10.1.2", false),
            ("10.1.2.3", "::ffff:10.1.2.3", false),
            ("2001:db8::1", "2001:db8::/32", true),
            ("2001:db8:1::1", "2001:db8::/48", false),
            ("2001:db8::1", "2001:0db8:0000::1", true),
            ("2001:db8::1", "::/0", true),
            ("2001:db8::1", "2001:db8::1/129", false),
            ("::1", "127.0.0.1", false),
            ("127.0.0.1", "::1/0", false),
        ];
        for (client, pattern, expected) in cases {
            let acl = [Acl::new(perms::READ, "ip", pattern)];
            let auth = AuthInfo::new(v(client));
            assert_eq!(
                check(&acl, perms::READ, &auth, None),
                expected,
                "{client} in {pattern}"
            );
        }
    }

    #[test]
    fn fixup_rules() {
        let anon = AuthInfo::new(v("192.0.2.7"));
        let mut alice = anon.clone();
        alice.add_auth("digest", b"alice:a").unwrap();
        alice.add_auth("digest", b"al:b").unwrap();
        let invalid = Err(ErrorCode::INVALID_ACL);

        assert_eq!(fixup(&[], &alice), invalid);

        let got = fixup(&proto(&[(perms::ALL, "auth", "")]), &alice).unwrap();
        assert_eq!(
            got,
            [
                Acl::new(perms::ALL, "digest", &digest("alice", "a")),
                Acl::new(perms::ALL, "digest", &digest("al", "b")),
            ]
        );
        // The ip id alone is not an authenticated identity.
        assert_eq!(fixup(&proto(&[(perms::ALL, "auth", "x")]), &anon), invalid);

        for ok in ["u:hash", ":hash", "u:hash:"] {
            let got = fixup(&proto(&[(perms::READ, "digest", ok)]), &anon).unwrap();
            assert_eq!(got, [Acl::new(perms::READ, "digest", ok)]);
        }
        for bad in ["u", "u:", "u:h:x", ""] {
            assert_eq!(
                fixup(&proto(&[(perms::READ, "digest", bad)]), &anon),
                invalid,
                "{bad}"
            );
        }
        for ok in ["10.0.0.1", "10.0.0.0/8", "::1", "fe80::/10", "0.0.0.0/0"] {
            assert!(
                fixup(&proto(&[(perms::READ, "ip", ok)]), &anon).is_ok(),
                "{ok}"
            );
        }
        for bad in [
            "10.0.0",
            "10.0.0.256",
            "10.0.0.0/33",
            "::1/129",
            "host",
            "10.0.0.1/",
        ] {
            assert_eq!(
                fixup(&proto(&[(perms::READ, "ip", bad)]), &anon),
                invalid,
                "{bad}"
            );
        }
        assert_eq!(
            fixup(&proto(&[(perms::READ, "world", "everyone")]), &anon),
            invalid
        );
        assert_eq!(
            fixup(&proto(&[(perms::READ, "sasl", "alice")]), &alice),
            invalid
        );
        assert_eq!(
            fixup(&proto(&[(perms::READ, "super", "")]), &alice),
            invalid
        );
        // One bad entry spoils the list.
        let mixed = proto(&[(perms::ALL, "world", "anyone"), (perms::READ, "nope", "x")]);
        assert_eq!(fixup(&mixed, &anon), invalid);

        let dup = proto(&[
            (perms::READ, "world", "anyone"),
            (perms::READ, "ip", "10.0.0.1"),
            (perms::READ, "world", "anyone"),
            (perms::WRITE, "world", "anyone"),
        ]);
        assert_eq!(
            fixup(&dup, &anon).unwrap(),
            [
                Acl::world_anyone(perms::READ),
                Acl::new(perms::READ, "ip", "10.0.0.1"),
                Acl::world_anyone(perms::WRITE),
            ]
        );
    }
}

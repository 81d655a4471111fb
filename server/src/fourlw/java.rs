//! How the JVM prints numbers, addresses and dates. Four-letter-word answers
//! are Java's `toString()`s, and monitoring scripts parse them, so these
//! reproduce the JVM's text rather than Rust's.

use std::fmt::Write as _;
use std::net::SocketAddr;

/// `Long.toHexString`: a negative value prints as its two's complement.
pub fn hex(v: i64) -> String {
    format!("{:x}", v as u64)
}

/// `Double.toString`: the shortest digits that read back to the same value,
/// always with a fractional part, and in `1.0E7` notation outside
/// [10^-3, 10^7).
pub fn double(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let mag = v.abs();
    if mag == 0.0 || (1e-3..1e7).contains(&mag) {
        let s = format!("{v}");
        return if s.contains('.') { s } else { s + ".0" };
    }
    let s = format!("{v:e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let dot = if mantissa.contains('.') { "" } else { ".0" };
    format!("{mantissa}{dot}E{exp}")
}

/// ZooKeeper's server-wide average latency: `total / count` as a double,
/// then `BigDecimal.setScale(4, HALF_UP)` on that double's exact binary
/// value, so ties are judged the way the JVM judges them.
pub fn avg_4dp(total: u64, count: u64) -> f64 {
    if count == 0 {
        return 0.0;
    }
    let avg = total as f64 / count as f64;
    if !avg.is_finite() {
        return avg;
    }
    let bits = avg.to_bits();
    let exp_bits = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    // avg = mantissa * 2^exp exactly.
    let (mantissa, exp) = if exp_bits == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), exp_bits - 1075)
    };
    if exp >= 0 {
        return avg;
    }
    let scaled = u128::from(mantissa) * 10_000;
    let shift = exp.unsigned_abs();
    let rounded = if shift >= 127 {
        0
    } else {
        let q = scaled >> shift;
        let r = scaled & ((1u128 << shift) - 1);
        if r >= 1u128 << (shift - 1) {
            q + 1
        } else {
            q
        }
    };
    rounded as f64 / 10_000.0
}

/// `InetSocketAddress.toString()` of an accepted socket: no host name, a
/// leading slash, IPv6 in brackets with every group written out.
pub fn socket_addr(addr: &SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("/{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => {
            let groups: Vec<String> = a.ip().segments().iter().map(|g| format!("{g:x}")).collect();
            let scope = if a.scope_id() != 0 {
                format!("%{}", a.scope_id())
            } else {
                String::new()
            };
            format!("/[{}{scope}]:{}", groups.join(":"), a.port())
        }
    }
}

const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `java.util.Date.toString()` in UTC (`EEE MMM dd HH:mm:ss zzz yyyy`), the
/// form `dump` prints expiry times in. A JVM prints its own zone; the
/// server runs in UTC, which is what ZooKeeper shows with TZ unset.
pub fn date_utc(epoch_ms: i64) -> String {
    let secs = epoch_ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (year, month, day) = zkproto::event::civil_from_days(days);
    let weekday = WEEKDAYS[days.rem_euclid(7) as usize];
    let mut out = String::new();
    let _ = write!(
        out,
        "{weekday} {} {day:02} {:02}:{:02}:{:02} UTC {year}",
        MONTHS[(month - 1) as usize],
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_like_the_jvm() {
        assert_eq!(double(0.0), "0.0");
        assert_eq!(double(8.0), "8.0");
        assert_eq!(double(3.2857), "3.2857");
        assert_eq!(double(0.25), "0.25");
        assert_eq!(double(1e7), "1.0E7");
        assert_eq!(double(12_345_678.5), "1.23456785E7");
        assert_eq!(double(5e-4), "5.0E-4");
        assert_eq!(double(0.001), "0.001");
    }

    #[test]
    fn averages_round_half_up_on_the_binary_value() {
        assert_eq!(avg_4dp(0, 0), 0.0);
        assert_eq!(avg_4dp(23, 7), 3.2857);
        assert_eq!(avg_4dp(2, 3), 0.6667);
        // 1/32 = 0.03125 is exact in binary: a true tie, rounded up.
        assert_eq!(avg_4dp(1, 32), 0.0313);
        // 0.00005 is stored a hair above the tie.
        assert_eq!(avg_4dp(1, 20_000), 0.0001);
        assert_eq!(avg_4dp(39, 4), 9.75);
        assert_eq!(avg_4dp(u64::MAX, 1), u64::MAX as f64);
    }

    #[test]
    fn hex_is_twos_complement() {
        assert_eq!(hex(-1), "ffffffffffffffff");
        assert_eq!(hex(0x1_0000_0003), "100000003");
        assert_eq!(hex(0), "0");
    }

    #[test]
    fn addresses_print_like_inet_socket_address() {
        let v4: SocketAddr = "127.0.0.1:55738".parse().unwrap();
        assert_eq!(socket_addr(&v4), "/127.0.0.1:55738");
        let v6: SocketAddr = "[::1]:2181".parse().unwrap();
        assert_eq!(socket_addr(&v6), "/[0:0:0:0:0:0:0:1]:2181");
    }

    #[test]
    fn dates_print_like_java_util_date() {
        assert_eq!(date_utc(0), "Thu Jan 01 00:00:00 UTC 1970");
        // A bucket time from a ZooKeeper 3.8 `dump` on this machine.
        assert_eq!(date_utc(1_795_316_058_000), "Sun Nov 22 02:54:18 UTC 2026");
        assert_eq!(date_utc(951_782_400_000), "Tue Feb 29 00:00:00 UTC 2000");
        assert_eq!(date_utc(-1000), "Wed Dec 31 23:59:59 UTC 1969");
    }
}

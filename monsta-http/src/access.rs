//! Address rules: allow and deny lists of CIDR ranges, checked on a
//! connection's peer address as soon as it is accepted, before anything is
//! read from it.

use std::net::IpAddr;

use ipnet::IpNet;

/// Allow and deny lists of CIDR ranges. An address is admitted unless it is
/// in a denied range, and, when any range is allowed, only if it is in an
/// allowed one: a deny wins over an allow. An IPv4-mapped IPv6 address
/// (`::ffff:10.0.0.1`) is checked as its IPv4 address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AddressRules {
    allow: Vec<IpNet>,
    deny: Vec<IpNet>,
}

/// `cidr` as a range: `10.0.0.0/8`, `::1/128`, or a bare address (a range of
/// one).
pub(crate) fn parse_cidr(cidr: &str) -> Option<IpNet> {
    let cidr = cidr.trim();
    cidr.parse::<IpNet>()
        .ok()
        .or_else(|| cidr.parse::<IpAddr>().ok().map(IpNet::from))
        .map(|net| net.trunc())
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl AddressRules {
    /// Adds an allowed range.
    pub(crate) fn allow(&mut self, net: IpNet) {
        self.allow.push(net);
    }

    /// Adds a denied range.
    pub(crate) fn deny(&mut self, net: IpNet) {
        self.deny.push(net);
    }

    /// The allowed ranges.
    pub(crate) fn allowed(&self) -> &[IpNet] {
        &self.allow
    }

    /// The denied ranges.
    pub(crate) fn denied(&self) -> &[IpNet] {
        &self.deny
    }

    /// Whether a client at `ip` may connect.
    pub(crate) fn admits(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        if self.deny.iter().any(|net| net.contains(&ip)) {
            return false;
        }
        self.allow.is_empty() || self.allow.iter().any(|net| net.contains(&ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(allow: &[&str], deny: &[&str]) -> AddressRules {
        let mut rules = AddressRules::default();
        for a in allow {
            rules.allow(parse_cidr(a).unwrap());
        }
        for d in deny {
            rules.deny(parse_cidr(d).unwrap());
        }
        rules
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn no_rules_admit_everyone() {
        let rules = AddressRules::default();
        assert!(rules.admits(ip("203.0.113.9")));
        assert!(rules.admits(ip("::1")));
    }

    #[test]
    fn allow_lists_admit_only_their_ranges_and_deny_wins() {
        let rules = rules(&["10.0.0.0/8", "::1/128"], &["10.0.0.66"]);
        assert!(rules.admits(ip("10.1.2.3")));
        assert!(rules.admits(ip("::1")));
        assert!(!rules.admits(ip("10.0.0.66")), "deny wins");
        assert!(!rules.admits(ip("192.0.2.1")), "not allowed");
        assert!(!rules.admits(ip("::2")));
        assert!(rules.admits(ip("::ffff:10.9.9.9")), "mapped IPv4");
        assert!(!rules.admits(ip("::ffff:10.0.0.66")));
    }

    #[test]
    fn deny_only_admits_the_rest() {
        let rules = rules(&[], &["127.0.0.0/8"]);
        assert!(!rules.admits(ip("127.0.0.1")));
        assert!(rules.admits(ip("::1")));
    }

    #[test]
    fn cidrs_parse_or_not() {
        assert_eq!(parse_cidr("10.1.2.3/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(parse_cidr("::1").unwrap().to_string(), "::1/128");
        assert!(parse_cidr("10.0.0.0/33").is_none());
        assert!(parse_cidr("localhost").is_none());
    }
}

//! Which clients count as one for a per-client limit: [`PeerKey`].

use std::net::IpAddr;

/// Which clients share a per-client limit (the per-address connection cap,
/// an entry of the failed-login table): an IPv4 address, or the /64 prefix
/// of an IPv6 one, since one host is commonly given a whole /64. An
/// IPv4-mapped IPv6 address counts as its IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum PeerKey {
    V4(u32),
    V6(u64),
}

impl PeerKey {
    /// The key of a client at `ip`.
    pub(crate) fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => PeerKey::V4(v4.into()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => PeerKey::V4(v4.into()),
                None => PeerKey::V6((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PeerKey;

    #[test]
    fn ipv6_clients_share_a_slice_per_64_and_mapped_ipv4_is_ipv4() {
        let key = |s: &str| PeerKey::of(s.parse().unwrap());
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:127.0.0.1"), key("127.0.0.1"));
        assert_ne!(key("127.0.0.1"), key("127.0.0.2"));
    }
}

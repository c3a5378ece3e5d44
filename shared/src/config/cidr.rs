//! CIDR blocks as security groups and policies carry them.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An IPv4 or IPv6 CIDR block. A bare address is a /32 or /128.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// The address part as written (not masked).
    pub addr: IpAddr,
    /// The prefix length.
    pub prefix: u8,
}

/// Why a CIDR did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a CIDR block")]
pub struct CidrError(pub String);

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let err = || CidrError(s.to_string());
        let (a, p) = match t.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (t, None),
        };
        let addr: IpAddr = a.parse().map_err(|_| err())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) => p.parse::<u8>().map_err(|_| err())?,
        };
        if prefix > max {
            return Err(err());
        }
        Ok(Self { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Cidr {
    /// Whether the block covers every address of its family (`0.0.0.0/0`, `::/0`, and
    /// non-canonical forms such as `10.0.0.0/0`).
    pub fn covers_all(&self) -> bool {
        self.prefix == 0
    }

    /// Whether this is an IPv6 block.
    pub fn is_ipv6(&self) -> bool {
        self.addr.is_ipv6()
    }

    /// Whether `ip` lies in the block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(x)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(self.prefix))
                };
                u32::from(net) & mask == u32::from(x) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(x)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(self.prefix))
                };
                u128::from(net) & mask == u128::from(x) & mask
            }
            _ => false,
        }
    }
}

/// Whether a CIDR text is open to the whole internet; unparseable text is not.
pub fn is_open_to_world(cidr: &str) -> bool {
    // Only a /0 can be: look at the prefix before parsing the address.
    match cidr.trim().split_once('/') {
        Some((_, p)) if p.parse::<u8>() == Ok(0) => cidr
            .parse::<Cidr>()
            .map(|c| c.covers_all())
            .unwrap_or(false),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_cover() {
        assert!(is_open_to_world("0.0.0.0/0"));
        assert!(is_open_to_world("::/0"));
        assert!(is_open_to_world(" 15.0.0.0/0 "));
        assert!(!is_open_to_world("0.0.0.0/1"));
        assert!(!is_open_to_world("0.0.0.0"));
        assert!(!is_open_to_world("nonsense/0"));
        assert!(!is_open_to_world("0.0.0.0/0/0"));
        assert!(is_open_to_world("0.0.0.0/00"));
        assert!(!is_open_to_world("52.95.75.1/32"));
        assert!(!is_open_to_world("garbage"));
        assert!(!is_open_to_world("1.2.3.4/33"));
        assert!(!is_open_to_world("::/129"));
        let c: Cidr = "207.171.160.0/19".parse().unwrap();
        assert!(c.contains("207.171.170.1".parse().unwrap()));
        assert!(!c.contains("207.171.192.1".parse().unwrap()));
        assert!(!c.contains("::1".parse().unwrap()));
        let c: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(c.is_ipv6());
        assert!(c.contains("2001:db8::1".parse().unwrap()));
        assert_eq!(c.to_string(), "2001:db8::/32");
        assert_eq!("10.1.1.1".parse::<Cidr>().unwrap().prefix, 32);
        assert_eq!(
            "x/1".parse::<Cidr>().unwrap_err().to_string(),
            "'x/1' is not a CIDR block"
        );
    }
}

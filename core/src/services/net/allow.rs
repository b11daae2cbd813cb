//! A manifest's `network_access` allow-list: exact host names, `*.domain`
//! patterns, and IP literals, each with an optional `:port`.

use std::net::IpAddr;

use crate::error::{OpError, OpResult};

/// What an entry names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    /// One host name, lowercase.
    Name(String),
    /// Every name under a domain (not the domain itself).
    Under(String),
    /// One address.
    Ip(IpAddr),
}

/// One allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    host: Host,
    port: Option<u16>,
}

/// A parsed allow-list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    rules: Vec<Rule>,
}

fn is_label(label: &str) -> bool {
    (1..=63).contains(&label.len())
        && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

fn is_name(s: &str) -> bool {
    (1..=253).contains(&s.len()) && s.split('.').all(is_label)
}

fn parse_rule(entry: &str) -> Result<Rule, String> {
    let entry = entry.trim().to_ascii_lowercase();
    // `[v6]:port`, `[v6]`, `v4:port`, `name:port`, or no port.
    let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
        let (ip, tail) = rest.split_once(']').ok_or("an IPv6 address must be written `[::1]`")?;
        let port = match tail.strip_prefix(':') {
            Some(p) => Some(p),
            None if tail.is_empty() => None,
            None => return Err("unexpected text after `]`".into()),
        };
        (ip.to_string(), port.map(str::to_string))
    } else {
        match entry.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h.to_string(), Some(p.to_string())),
            Some(_) => return Err("write an IPv6 address as `[::1]` or `[::1]:8080`".into()),
            None => (entry.clone(), None),
        }
    };
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p > 0).ok_or(format!("`{p}` is not a port"))?),
        None => None,
    };
    let host = if let Ok(ip) = host.parse::<IpAddr>() {
        Host::Ip(ip)
    } else if let Some(domain) = host.strip_prefix("*.") {
        if !is_name(domain) || !domain.contains('.') {
            return Err("a pattern must look like `*.example.com`".into());
        }
        Host::Under(domain.to_string())
    } else if is_name(&host) && !host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        Host::Name(host)
    } else {
        return Err("not a host name, `*.domain` pattern or IP address".into());
    };
    Ok(Rule { host, port })
}

/// Checks one entry, saying what is wrong with it.
pub fn check_entry(entry: &str) -> Result<(), String> {
    parse_rule(entry)
        .map(|_| ())
        .map_err(|why| format!("`{entry}`: {why} (e.g. `api.example.com`, `*.example.com`, `127.0.0.1:8080`)"))
}

impl AllowList {
    /// Parses entries; the error names the first bad one.
    pub fn parse(entries: &[String]) -> OpResult<AllowList> {
        let mut rules = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            let rule = parse_rule(e).map_err(|why| {
                OpError::invalid(format!(
                    "network_access[{i}] `{e}`: {why} (e.g. `api.example.com`, `*.example.com`, `127.0.0.1:8080`)"
                ))
            })?;
            rules.push(rule);
        }
        Ok(AllowList { rules })
    }

    /// Whether the list is empty (no network at all).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    fn rules_for<'a>(&'a self, host: &'a str, port: u16) -> impl Iterator<Item = &'a Rule> + 'a {
        self.rules.iter().filter(move |r| r.port.is_none_or(|p| p == port)).filter(move |r| {
            match (&r.host, host.parse::<IpAddr>()) {
                (Host::Ip(ip), Ok(addr)) => *ip == addr,
                (Host::Name(n), Err(_)) => n == host,
                (Host::Under(d), Err(_)) => {
                    host.len() > d.len() + 1
                        && host.ends_with(d.as_str())
                        && host.as_bytes()[host.len() - d.len() - 1] == b'.'
                }
                _ => false,
            }
        })
    }

    /// Checks a URL against the list; the error says why it is refused.
    pub fn check(&self, url: &reqwest::Url) -> Result<(), String> {
        if !url.username().is_empty() || url.password().is_some() {
            return Err(
                "URLs with a user name or password in them are refused; attach a stored credential with `auth`".into(),
            );
        }
        let scheme = url.scheme();
        if scheme != "https" && scheme != "http" {
            return Err(format!(
                "the `{scheme}` scheme is refused; only https (and http to hosts listed exactly) is allowed"
            ));
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.trim_end_matches('.').to_ascii_lowercase(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return Err("the URL has no host".into()),
        };
        let port = url.port_or_known_default().unwrap_or(443);
        let mut matched = self.rules_for(&host, port).peekable();
        if matched.peek().is_none() {
            return Err(format!("`{host}:{port}` is not in the extension's network_access allow-list"));
        }
        if scheme == "http" && !matched.any(|r| !matches!(r.host, Host::Under(_))) {
            return Err(format!(
                "plain http to `{host}` is refused: only hosts listed exactly (not by a `*.` pattern) may use http"
            ));
        }
        Ok(())
    }

    /// Whether a name that resolved to a loopback or private address may be
    /// used: only when the name itself is listed exactly.
    pub fn may_resolve_privately(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.rules.iter().any(|r| r.host == Host::Name(host.clone()))
    }
}

/// Whether an address is not on the public internet: loopback, private,
/// link-local, unique-local, unspecified, CGNAT, multicast or broadcast.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || (o[0] == 100 && (o[1] & 0xC0) == 64)
                || o[0] == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> AllowList {
        AllowList::parse(&entries.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn check(l: &AllowList, url: &str) -> Result<(), String> {
        l.check(&reqwest::Url::parse(url).unwrap())
    }

    #[test]
    fn hosts_patterns_ports_and_schemes() {
        let l = list(&["api.example.com", "*.googleapis.com", "127.0.0.1:8080", "[::1]", "files.example.org:443"]);
        assert!(check(&l, "https://api.example.com/x").is_ok());
        assert!(check(&l, "http://api.example.com/x").is_ok(), "exact names may use http");
        assert!(check(&l, "https://gmail.googleapis.com/v1").is_ok());
        assert!(check(&l, "http://gmail.googleapis.com/v1").unwrap_err().contains("plain http"));
        assert!(check(&l, "https://googleapis.com/").is_err(), "a pattern does not cover its own domain");
        assert!(check(&l, "https://evilgoogleapis.com/").is_err());
        assert!(check(&l, "https://api.example.com.evil.org/").is_err());
        assert!(check(&l, "http://127.0.0.1:8080/").is_ok());
        assert!(check(&l, "http://127.0.0.1:8081/").is_err());
        assert!(check(&l, "http://[::1]:9999/").is_ok());
        assert!(check(&l, "https://files.example.org/").is_ok());
        assert!(check(&l, "https://files.example.org:8443/").is_err());
        assert!(check(&l, "file:///etc/passwd").unwrap_err().contains("scheme"));
        assert!(check(&l, "ftp://api.example.com/").is_err());
        assert!(check(&l, "https://user:pw@api.example.com/").unwrap_err().contains("password"));
        assert!(check(&l, "https://10.0.0.1/").is_err(), "IP literals only when listed");
        assert!(l.may_resolve_privately("api.example.com"));
        assert!(!l.may_resolve_privately("gmail.googleapis.com"));
    }

    #[test]
    fn bad_entries_are_named() {
        for bad in ["http://x.com", "*.com", "x.com:0", "x.com:99999", "::1", "a b", "", "1.2.3"] {
            let e = AllowList::parse(&[bad.to_string()]).unwrap_err();
            assert!(e.message.contains("network_access[0]"), "{bad}: {e}");
        }
        assert!(is_internal("127.0.0.1".parse().unwrap()));
        assert!(is_internal("192.168.1.2".parse().unwrap()));
        assert!(is_internal("::ffff:10.0.0.1".parse().unwrap()));
        assert!(is_internal("fd00::1".parse().unwrap()));
        assert!(!is_internal("93.184.216.34".parse().unwrap()));
    }
}

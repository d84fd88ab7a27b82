//! The environment, read once at the first socket call: which networks the
//! program's node joins, its addresses, and what goes through zts.

use std::net::IpAddr;

pub struct Config {
    /// Network URIs, as `zts_net_join` takes them (`ZTS_NET`).
    pub nets: Vec<String>,
    /// CIDRs or `dhcp`, the i-th on the i-th network (`ZTS_ADDR`).
    pub addrs: Vec<String>,
    /// The default route's gateway (`ZTS_GATEWAY`).
    pub gateway: Option<String>,
    /// DNS servers (`ZTS_DNS`).
    pub dns: Vec<String>,
    /// Names resolved before DNS (`ZTS_HOSTS`, `name=ip,...`).
    pub hosts: Vec<(String, String)>,
    /// One line per decision on stderr (`ZTS_LOG=1`).
    pub log: bool,
    /// A wildcard bind stays on the kernel (`ZTS_BIND_ANY=kernel`).
    pub bind_any_kernel: bool,
    /// The subnets of the static addresses.
    pub subnets: Vec<(IpAddr, u8)>,
    /// Some network takes its address by DHCP (its subnet is not known
    /// here, so every routed address goes to zts).
    pub dhcp: bool,
}

/// What the environment says.
pub enum Setting {
    /// No `ZTS_NET`: the library does nothing.
    Off,
    On(Config),
    /// Bad configuration, already reported on stderr.
    Bad,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn words(name: &str) -> Vec<String> {
    var(name)
        .map(|v| v.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

pub fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (ip, len) = s.split_once('/')?;
    let ip: IpAddr = ip.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (len <= max).then_some((ip, len))
}

/// Whether `ip` lies in `net`/`len`.
pub fn in_subnet(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - len as u32).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - len as u32).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

fn bad(variable: &str, why: &str) -> Setting {
    eprintln!("zts-preload: {variable}: {why}; this program's network sockets will fail");
    Setting::Bad
}

pub fn read() -> Setting {
    let nets = words("ZTS_NET");
    if nets.is_empty() {
        return Setting::Off;
    }
    let addrs = words("ZTS_ADDR");
    if addrs.is_empty() {
        return bad("ZTS_ADDR", "not set (CIDRs or dhcp, one per network)");
    }
    if addrs.len() > nets.len() * 8 {
        return bad("ZTS_ADDR", "more addresses than the networks can take");
    }
    let mut subnets = vec![];
    let mut dhcp = false;
    for a in &addrs {
        if a == "dhcp" {
            dhcp = true;
        } else if let Some(s) = parse_cidr(a) {
            subnets.push(s);
        } else {
            return bad("ZTS_ADDR", &format!("{a:?} is neither a CIDR nor dhcp"));
        }
    }
    let gateway = var("ZTS_GATEWAY").map(|g| g.trim().to_owned());
    if let Some(g) = &gateway
        && g.parse::<IpAddr>().is_err()
    {
        return bad("ZTS_GATEWAY", &format!("{g:?} is not an IP address"));
    }
    let dns = words("ZTS_DNS");
    if let Some(d) = dns.iter().find(|d| d.parse::<IpAddr>().is_err()) {
        return bad("ZTS_DNS", &format!("{d:?} is not an IP address"));
    }
    let mut hosts = vec![];
    for pair in var("ZTS_HOSTS")
        .unwrap_or_default()
        .split(',')
        .filter(|p| !p.trim().is_empty())
    {
        match pair.trim().split_once('=') {
            Some((name, ip)) if !name.is_empty() && ip.parse::<IpAddr>().is_ok() => {
                hosts.push((name.to_owned(), ip.to_owned()))
            }
            _ => return bad("ZTS_HOSTS", &format!("{pair:?} is not name=ip")),
        }
    }
    let log = var("ZTS_LOG").is_some_and(|v| v != "0");
    let bind_any_kernel = match var("ZTS_BIND_ANY").as_deref() {
        None | Some("zts") => false,
        Some("kernel") => true,
        Some(other) => {
            return bad(
                "ZTS_BIND_ANY",
                &format!("{other:?} is neither zts nor kernel"),
            );
        }
    };
    Setting::On(Config {
        nets,
        addrs,
        gateway,
        dns,
        hosts,
        log,
        bind_any_kernel,
        subnets,
        dhcp,
    })
}

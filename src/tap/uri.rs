//! Parses network URIs given to `zts_net_join`:
//! `mem:NAME?mtu=9000&loss=0.01&seed=7`, `vxlan://BIND_IP:PORT?vni=N&peer=IP:PORT`,
//! `tap:NAME`; every backend also takes `mtu=` and `pcap=PATH`.

use crate::error::{Errno, Result};
use std::net::SocketAddr;
use std::path::PathBuf;

pub const DEFAULT_MTU: usize = 1500;
pub const MIN_MTU: usize = 576;
pub const MAX_MTU: usize = 65535;
/// The IANA VXLAN port, which Linux `vxlan` devices use by default.
pub const VXLAN_PORT: u16 = 4789;

#[derive(Clone, Debug, PartialEq)]
pub enum Backend {
    /// The in-process switch segment with this name.
    Mem(String),
    /// Ethernet in UDP with the VXLAN header (RFC 7348).
    Vxlan {
        bind: SocketAddr,
        vni: u32,
        peers: Vec<SocketAddr>,
        /// Accept (and learn) endpoints that are not configured peers.
        learn: bool,
    },
    /// A Linux TAP device.
    Tap(String),
}

/// What the in-process switch does to frames a node sends (seeded, so a
/// run can be repeated). Probabilities are 0..=1.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Impairment {
    pub loss: f64,
    pub dup: f64,
    pub reorder: f64,
    pub corrupt: f64,
    pub delay_ms: u64,
    pub jitter_ms: u64,
    pub seed: u64,
    /// `gso=off`: the node sends frames of the MTU's size only, never a
    /// TCP segment of up to 64 KiB for its peer to take whole (`gso`).
    pub mtu_frames: bool,
}

impl Impairment {
    pub fn any(&self) -> bool {
        self.loss > 0.0
            || self.dup > 0.0
            || self.reorder > 0.0
            || self.corrupt > 0.0
            || self.delay_ms > 0
            || self.jitter_ms > 0
    }

    /// Whether frames must wait on a timer (delay, jitter or reordering).
    pub fn delays(&self) -> bool {
        self.delay_ms > 0 || self.jitter_ms > 0 || self.reorder > 0.0
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct TapUri {
    pub backend: Backend,
    pub mtu: usize,
    pub pcap: Option<PathBuf>,
    pub impair: Impairment,
}

fn probability(v: &str) -> Result<f64> {
    match v.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(Errno::EINVAL),
    }
}

fn number<T: std::str::FromStr>(v: &str) -> Result<T> {
    v.parse().map_err(|_| Errno::EINVAL)
}

fn valid_name(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

impl TapUri {
    pub fn parse(uri: &str) -> Result<TapUri> {
        let (scheme, rest) = uri.split_once(':').ok_or(Errno::EINVAL)?;
        let (target, query) = match rest.split_once('?') {
            Some((t, q)) => (t, Some(q)),
            None => (rest, None),
        };
        let mut backend = match scheme {
            "mem" if valid_name(target, 255) => Backend::Mem(target.to_string()),
            // Linux interface names are at most 15 bytes.
            "tap" if valid_name(target, 15) => Backend::Tap(target.to_string()),
            "vxlan" => {
                let bind: SocketAddr = target
                    .strip_prefix("//")
                    .ok_or(Errno::EINVAL)?
                    .parse()
                    .map_err(|_| Errno::EINVAL)?;
                Backend::Vxlan {
                    bind,
                    vni: 0,
                    peers: Vec::new(),
                    learn: false,
                }
            }
            "mem" | "tap" => return Err(Errno::EINVAL),
            _ => return Err(Errno::EPROTONOSUPPORT),
        };
        let mut parsed = TapUri {
            backend: Backend::Mem(String::new()),
            mtu: DEFAULT_MTU,
            pcap: None,
            impair: Impairment::default(),
        };
        let mut vni_set = false;
        for pair in query.into_iter().flat_map(|q| q.split('&')) {
            let (key, value) = pair.split_once('=').ok_or(Errno::EINVAL)?;
            let imp = &mut parsed.impair;
            match (key, &mut backend) {
                ("mtu", _) => {
                    parsed.mtu = number(value)?;
                    if !(MIN_MTU..=MAX_MTU).contains(&parsed.mtu) {
                        return Err(Errno::EINVAL);
                    }
                }
                ("pcap", _) if !value.is_empty() => parsed.pcap = Some(PathBuf::from(value)),
                ("loss", Backend::Mem(_)) => imp.loss = probability(value)?,
                ("dup", Backend::Mem(_)) => imp.dup = probability(value)?,
                ("reorder", Backend::Mem(_)) => imp.reorder = probability(value)?,
                ("corrupt", Backend::Mem(_)) => imp.corrupt = probability(value)?,
                ("delay_ms", Backend::Mem(_)) => imp.delay_ms = number(value)?,
                ("jitter_ms", Backend::Mem(_)) => imp.jitter_ms = number(value)?,
                ("seed", Backend::Mem(_)) => imp.seed = number(value)?,
                ("gso", Backend::Mem(_)) => {
                    imp.mtu_frames = match value {
                        "on" => false,
                        "off" => true,
                        _ => return Err(Errno::EINVAL),
                    }
                }
                ("vni", Backend::Vxlan { vni, .. }) => {
                    *vni = number(value)?;
                    if *vni >= 1 << 24 {
                        return Err(Errno::EINVAL);
                    }
                    vni_set = true;
                }
                ("peer", Backend::Vxlan { peers, .. }) => {
                    let p: SocketAddr = value.parse().map_err(|_| Errno::EINVAL)?;
                    if p.port() == 0 || p.ip().is_unspecified() {
                        return Err(Errno::EINVAL);
                    }
                    peers.push(p);
                }
                ("learn", Backend::Vxlan { learn, .. }) => {
                    *learn = match value {
                        "0" => false,
                        "1" => true,
                        _ => return Err(Errno::EINVAL),
                    }
                }
                _ => return Err(Errno::EINVAL),
            }
        }
        if let Backend::Vxlan { learn, peers, .. } = &backend
            && (!vni_set || (peers.is_empty() && !learn))
        {
            // A VNI is required, and someone to talk to.
            return Err(Errno::EINVAL);
        }
        if parsed.impair.delay_ms > 60_000 || parsed.impair.jitter_ms > 60_000 {
            return Err(Errno::EINVAL);
        }
        parsed.backend = backend;
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mem_with_mtu_and_impairment() {
        let u = TapUri::parse("mem:lab?mtu=9000&loss=0.05&reorder=0.05&dup=0.01&seed=1").unwrap();
        assert_eq!(u.backend, Backend::Mem("lab".into()));
        assert_eq!(u.mtu, 9000);
        assert_eq!(u.impair.loss, 0.05);
        assert_eq!(u.impair.seed, 1);
        assert!(u.impair.any() && u.impair.delays());
        assert_eq!(TapUri::parse("mem:lab").unwrap().mtu, DEFAULT_MTU);
        assert!(!TapUri::parse("mem:lab").unwrap().impair.any());
        assert!(!TapUri::parse("mem:lab").unwrap().impair.mtu_frames);
        let off = TapUri::parse("mem:lab?gso=off").unwrap().impair;
        assert!(off.mtu_frames && !off.any());
        assert!(!TapUri::parse("mem:lab?gso=on").unwrap().impair.mtu_frames);
    }

    #[test]
    fn parses_vxlan_and_tap() {
        let u = TapUri::parse(
            "vxlan://127.0.0.1:0?vni=42&peer=127.0.0.1:4790&peer=[::1]:4789&pcap=/tmp/x.pcap",
        )
        .unwrap();
        match u.backend {
            Backend::Vxlan {
                bind,
                vni,
                peers,
                learn,
            } => {
                assert_eq!(bind, "127.0.0.1:0".parse().unwrap());
                assert_eq!(vni, 42);
                assert_eq!(peers.len(), 2);
                assert!(!learn);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(u.pcap, Some(PathBuf::from("/tmp/x.pcap")));
        assert!(TapUri::parse("vxlan://0.0.0.0:4789?vni=1&learn=1").is_ok());
        assert_eq!(
            TapUri::parse("tap:zt0?mtu=9000").unwrap().backend,
            Backend::Tap("zt0".into())
        );
    }

    #[test]
    fn rejects_bad_uris() {
        for bad in [
            "mem:",
            "mem",
            "mem:a b",
            "mem:x?mtu=70000",
            "mem:x?mtu=100",
            "mem:x?mtu=",
            "mem:x?bogus=1",
            "mem:x?mtu",
            "mem:x?loss=1.5",
            "mem:x?gso=no",
            "tap:x?gso=off",
            "mem:x?vni=3",
            "tap:",
            "tap:abcdefghijklmnop",
            "tap:x?loss=0.1",
            "vxlan://127.0.0.1:1?peer=127.0.0.1:2",
            "vxlan://127.0.0.1:1?vni=1",
            "vxlan://127.0.0.1:1?vni=16777216&peer=127.0.0.1:2",
            "vxlan:127.0.0.1:1?vni=1&learn=1",
            "vxlan://x:1?vni=1&learn=1",
            "vxlan://127.0.0.1:1?vni=1&peer=127.0.0.1:0",
        ] {
            assert_eq!(TapUri::parse(bad), Err(Errno::EINVAL), "{bad}");
        }
        assert_eq!(
            TapUri::parse("carrier-pigeon:x"),
            Err(Errno::EPROTONOSUPPORT)
        );
    }
}

//! Parses network URIs given to `zts_net_join`: `mem:NAME?mtu=9000`.

use crate::error::{Errno, Result};

pub const DEFAULT_MTU: usize = 1500;
pub const MIN_MTU: usize = 576;
pub const MAX_MTU: usize = 65535;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The in-process switch segment with this name.
    Mem(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TapUri {
    pub backend: Backend,
    pub mtu: usize,
}

impl TapUri {
    pub fn parse(uri: &str) -> Result<TapUri> {
        let (scheme, rest) = uri.split_once(':').ok_or(Errno::EINVAL)?;
        let (target, query) = match rest.split_once('?') {
            Some((t, q)) => (t, Some(q)),
            None => (rest, None),
        };
        let backend = match scheme {
            "mem" => {
                if target.is_empty()
                    || !target
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
                {
                    return Err(Errno::EINVAL);
                }
                Backend::Mem(target.to_string())
            }
            _ => return Err(Errno::EPROTONOSUPPORT),
        };
        let mut mtu = DEFAULT_MTU;
        for pair in query.into_iter().flat_map(|q| q.split('&')) {
            let (key, value) = pair.split_once('=').ok_or(Errno::EINVAL)?;
            match key {
                "mtu" => {
                    mtu = value.parse().map_err(|_| Errno::EINVAL)?;
                    if !(MIN_MTU..=MAX_MTU).contains(&mtu) {
                        return Err(Errno::EINVAL);
                    }
                }
                _ => return Err(Errno::EINVAL),
            }
        }
        Ok(TapUri { backend, mtu })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mem_with_mtu() {
        let u = TapUri::parse("mem:lab?mtu=9000").unwrap();
        assert_eq!(u.backend, Backend::Mem("lab".into()));
        assert_eq!(u.mtu, 9000);
        assert_eq!(TapUri::parse("mem:lab").unwrap().mtu, DEFAULT_MTU);
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
        ] {
            assert_eq!(TapUri::parse(bad), Err(Errno::EINVAL), "{bad}");
        }
        assert_eq!(
            TapUri::parse("carrier-pigeon:x"),
            Err(Errno::EPROTONOSUPPORT)
        );
    }
}

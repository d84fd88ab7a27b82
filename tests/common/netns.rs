//! Network namespaces, veth pairs and background programs for the interop
//! tests. Everything a test creates is torn down when its guard drops.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::Duration;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A short name unique to this process and call (interface names are at
/// most 15 bytes).
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}{}",
        std::process::id() % 100_000,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Whether the root-only tests can run: true as root; false (with a note)
/// when ZTS_SKIP_NETNS=1 was set on purpose; a loud failure otherwise.
pub fn root_or_skip(test: &str) -> bool {
    // SAFETY: geteuid has no arguments and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    if std::env::var("ZTS_SKIP_NETNS").as_deref() == Ok("1") {
        eprintln!("{test}: skipped on purpose (ZTS_SKIP_NETNS=1)");
        return false;
    }
    panic!(
        "{test} needs root to create network namespaces: run the suite as root \
         (CI does), or set ZTS_SKIP_NETNS=1 to skip the interop tests on purpose"
    );
}

/// Fails loudly when a tool the test drives is missing.
pub fn need_tools(tools: &[&str]) {
    for t in tools {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {t}")])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            found,
            "{t} is not installed: tests/all.sh installs what the suite needs"
        );
    }
}

/// Runs a command to completion; panics with its output if it fails.
pub fn sh(args: &[&str]) -> Output {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .expect("command runs");
    assert!(
        out.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new() -> Netns {
        let name = unique("zts");
        sh(&["ip", "netns", "add", &name]);
        let ns = Netns { name };
        ns.run(&["ip", "link", "set", "lo", "up"]);
        ns
    }

    /// A command that runs inside the namespace.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).args(args);
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        let mut all = vec!["ip", "netns", "exec", &self.name];
        all.extend_from_slice(args);
        sh(&all)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// A veth pair with one end in each namespace, addressed and up.
pub fn veth(a: &Netns, a_cidr: &str, b: &Netns, b_cidr: &str) -> (String, String) {
    let (ea, eb) = (unique("va"), unique("vb"));
    sh(&[
        "ip", "link", "add", &ea, "type", "veth", "peer", "name", &eb,
    ]);
    sh(&["ip", "link", "set", &ea, "netns", &a.name]);
    sh(&["ip", "link", "set", &eb, "netns", &b.name]);
    for (ns, dev, cidr) in [(a, &ea, a_cidr), (b, &eb, b_cidr)] {
        ns.run(&["ip", "addr", "add", cidr, "dev", dev]);
        ns.run(&["ip", "link", "set", dev, "up"]);
    }
    (ea, eb)
}

/// A program running in the background, killed when dropped. Its output
/// lines arrive on a channel so a test can wait for one, bounded.
pub struct Bg {
    child: Child,
    lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Bg {
    pub fn spawn(mut cmd: Command) -> Bg {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("program starts");
        let (tx, lines) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        return;
                    }
                }
            });
        }
        Bg {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (at most `limit`) for a line containing `pattern`.
    pub fn wait_for(&mut self, pattern: &str, limit: Duration) -> String {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(pattern) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no line with {pattern:?} within {limit:?}; got: {:?} (exit: {:?})",
                    self.seen,
                    self.child.try_wait()
                ),
            }
        }
    }
}

impl Drop for Bg {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// SHA-256 of a file, by the system's sha256sum.
pub fn sha256(path: &Path) -> String {
    let out = sh(&["sha256sum", path.to_str().unwrap()]);
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

//! Builds and runs the C programs of the suite against the libzts that
//! cargo just built for this test run.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

static LIB_DIR: OnceLock<PathBuf> = OnceLock::new();

/// target/<profile> with an up-to-date libzts.so and libzts.a in it.
///
/// `cargo test` builds the library only as an rlib, so the first caller
/// runs `cargo build --lib` for the same profile (a no-op when fresh).
pub fn lib_dir() -> PathBuf {
    LIB_DIR
        .get_or_init(|| {
            let exe = std::env::current_exe().unwrap();
            let dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let mut cmd = Command::new(cargo);
            cmd.current_dir(repo()).args(["build", "--lib", "--quiet"]);
            if dir.file_name().is_some_and(|n| n == "release") {
                cmd.arg("--release");
            }
            let status = cmd.status().expect("cargo runs");
            assert!(status.success(), "cargo build --lib failed");
            assert!(
                dir.join("libzts.so").exists(),
                "libzts.so not found in {}",
                dir.display()
            );
            dir
        })
        .clone()
}

pub fn out_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("c");
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub const CFLAGS: &[&str] = &[
    "-std=c11",
    "-D_GNU_SOURCE",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-pthread",
    "-g",
];

/// Compiles `sources` (paths relative to the repo) into an executable
/// linked against libzts.so, with `extra` flags; returns its path.
pub fn build_c(name: &str, sources: &[&str], extra: &[&str]) -> PathBuf {
    build_with("cc", CFLAGS, name, sources, extra)
}

pub const CXXFLAGS: &[&str] = &[
    "-std=c++17",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-pedantic",
    "-pthread",
    "-g",
];

/// As build_c, for C++ sources.
pub fn build_cxx(name: &str, sources: &[&str], extra: &[&str]) -> PathBuf {
    build_with("c++", CXXFLAGS, name, sources, extra)
}

/// Sanitizer flags for build_c / build_cxx, and the run-time options that
/// make any finding fatal.
pub const SANITIZE: &[&str] = &["-fsanitize=address,undefined", "-fno-omit-frame-pointer"];

pub fn sanitizer_env(cmd: &mut Command) -> &mut Command {
    cmd.env("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
        .env("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1")
}

/// valgrind memcheck around a program: any error or definite leak fails.
pub fn valgrind(exe: &Path) -> Command {
    let mut cmd = Command::new("valgrind");
    cmd.args([
        "--leak-check=full",
        "--errors-for-leak-kinds=definite",
        "--error-exitcode=99",
        "-q",
    ])
    .arg(exe);
    cmd
}

/// Executables built so far by this test binary: tests running in parallel
/// that want the same program share one build instead of overwriting it
/// while another runs it.
static BUILT: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

fn build_with(
    compiler: &str,
    flags: &[&str],
    name: &str,
    sources: &[&str],
    extra: &[&str],
) -> PathBuf {
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let exe = out_dir().join(name);
    if !built.contains(&exe) {
        compile(compiler, flags, name, sources, extra);
        built.push(exe.clone());
    }
    exe
}

fn compile(compiler: &str, flags: &[&str], name: &str, sources: &[&str], extra: &[&str]) {
    let lib = lib_dir();
    let exe = out_dir().join(name);
    if let Some(parent) = exe.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    let mut cmd = Command::new(compiler);
    cmd.args(flags)
        .args(extra)
        .arg(format!("-I{}", repo().join("include").display()))
        .args(sources.iter().map(|s| repo().join(s)))
        .arg("-o")
        .arg(&exe)
        .arg(format!("-L{}", lib.display()))
        .arg("-lzts")
        .arg(format!("-Wl,-rpath,{}", lib.display()));
    let out = cmd.output().expect("cc runs");
    assert!(
        out.status.success(),
        "cc failed for {name}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs a command with a time bound; fails the test on timeout or a
/// non-zero exit, printing its output.
pub fn run_ok(cmd: &mut Command, limit: Duration) -> Output {
    let out = run(cmd, limit);
    assert!(
        out.status.success(),
        "{:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        cmd,
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn run(cmd: &mut Command, limit: Duration) -> Output {
    // `timeout` bounds the run without a watchdog thread of our own.
    let mut wrapped = Command::new("timeout");
    wrapped
        .arg("--kill-after=5")
        .arg(limit.as_secs().to_string())
        .arg(cmd.get_program())
        .args(cmd.get_args());
    if let Some(dir) = cmd.get_current_dir() {
        wrapped.current_dir(dir);
    }
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => wrapped.env(k, v),
            None => wrapped.env_remove(k),
        };
    }
    wrapped.output().expect("program runs")
}

pub fn exists(path: &Path) -> bool {
    path.exists()
}
pub mod api;
pub mod netns;

/// Resident memory of this process, in bytes.
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// xorshift64*: seeded, so a test does the same thing on every run.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A directory of the test's own under the target's temp dir, removed
/// when it drops.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let dir = out_dir().join(netns::unique(name));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

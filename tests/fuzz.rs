//! Every fuzz target (fuzz/, cargo fuzz with libFuzzer) runs for a bounded
//! time from the committed seed corpus; a crash, a sanitizer report or a
//! failed assertion in a target fails this test, with the input saved.
//!
//! Needs `cargo install cargo-fuzz` (tests/all.sh does it) and runs on the
//! stable toolchain through RUSTC_BOOTSTRAP=1. ZTS_FUZZ_SECONDS sets the
//! time per target (default 20); ZTS_SKIP_FUZZ=1 skips on purpose.

mod common;

use std::path::Path;
use std::process::Command;
use std::thread;

const TARGETS: &[&str] = &["frame", "vxlan", "uri", "cidr", "sockaddr", "sockopt"];

fn cargo_fuzz(args: &[&str]) -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(common::repo())
        .env("RUSTC_BOOTSTRAP", "1")
        .arg("fuzz")
        .args(args);
    cmd
}

/// Runs one target; returns how many inputs it executed.
fn run(target: &str, seconds: u64, scratch: &Path) -> u64 {
    let corpus = scratch.join(format!("{target}-corpus"));
    let artifacts = scratch.join(format!("{target}-artifacts/"));
    std::fs::create_dir_all(&corpus).unwrap();
    std::fs::create_dir_all(&artifacts).unwrap();
    let seeds = common::repo().join("fuzz/corpus").join(target);
    let out = cargo_fuzz(&["run", "-O", target])
        .arg(&corpus)
        .arg(&seeds)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-artifact_prefix={}", artifacts.display()))
        .args(["-seed=1", "-print_final_stats=1", "-rss_limit_mb=4096"])
        .output()
        .expect("cargo fuzz runs");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "fuzz target {target} failed (input saved in {}):\n{}",
        artifacts.display(),
        log.lines()
            .rev()
            .take(60)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
    log.lines()
        .find_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("{target}: no execution count in libFuzzer's output"))
}

#[test]
fn fuzz_targets_run_clean_for_a_bounded_time() {
    if std::env::var_os("ZTS_SKIP_FUZZ").is_some_and(|v| v == "1") {
        eprintln!("ZTS_SKIP_FUZZ=1: fuzz targets not run");
        return;
    }
    let have = cargo_fuzz(&["--version"]).output();
    assert!(
        have.is_ok_and(|o| o.status.success()),
        "cargo fuzz is not installed: run `cargo install cargo-fuzz` (tests/all.sh does), \
         or set ZTS_SKIP_FUZZ=1 to skip on purpose"
    );
    let seconds: u64 = std::env::var("ZTS_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let status = cargo_fuzz(&["build", "-O"])
        .status()
        .expect("cargo fuzz runs");
    assert!(status.success(), "cargo fuzz build failed");
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz");
    let _ = std::fs::remove_dir_all(&scratch);
    // Two at a time: one per core.
    for pair in TARGETS.chunks(2) {
        let runs: Vec<_> = pair
            .iter()
            .map(|&t| {
                let scratch = scratch.clone();
                thread::spawn(move || (t, run(t, seconds, &scratch)))
            })
            .collect();
        for r in runs {
            let (t, execs) = r.join().unwrap();
            println!("fuzz {t}: {execs} executions in {seconds} s");
        }
    }
}

//! The C programs (examples and tests) built with -Wall -Wextra -Werror
//! against zts.h and libzts, run as a user would run them.

mod common;

use common::{SANITIZE, build_c, build_cxx, run_ok, sanitizer_env, valgrind};
use std::process::Command;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(240);

#[test]
fn demo_runs_two_nodes_and_echoes() {
    let exe = build_c("demo", &["examples-c/demo.c"], &[]);
    let out = run_ok(&mut Command::new(exe), LIMIT);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("echoed 'hello'"), "{text}");
}

#[test]
fn errno_table_holds_call_by_call() {
    let exe = build_c("errno_table", &["tests/c/errno_table.c"], &[]);
    let out = run_ok(&mut Command::new(exe), LIMIT);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(" 0 failed"), "{text}");
}

#[test]
fn blocked_calls_wake_on_close_and_stop() {
    let exe = build_c("close_wakeup", &["tests/c/close_wakeup.c"], &[]);
    run_ok(&mut Command::new(exe), LIMIT);
}

fn echo64(family: &str) {
    let exe = build_c(
        "echo64",
        &["tests/c/echo64.c", "tests/c/sha256.c"],
        &["-O2"],
    );
    let out = run_ok(Command::new(exe).arg(family), LIMIT);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("all hashes match"), "{text}");
    println!("{text}");
}

#[test]
fn echo64_ipv4_backlog_64_clients_4mib_each() {
    echo64("4");
}

#[test]
fn echo64_ipv6_backlog_64_clients_4mib_each() {
    echo64("6");
}

#[test]
fn one_epoll_loop_serves_200_zts_connections_and_a_pipe() {
    let exe = build_c("epoll_server", &["tests/c/epoll_server.c"], &[]);
    let out = run_ok(&mut Command::new(exe), LIMIT);
    println!("{}", String::from_utf8_lossy(&out.stdout));
}

/// The C test programs and how each runs under the slower checkers.
const SUITE: &[(&str, &[&str], &[&str])] = &[
    ("errno_table", &["tests/c/errno_table.c"], &[]),
    ("close_wakeup", &["tests/c/close_wakeup.c"], &[]),
    ("node_cycles", &["tests/c/node_cycles.c"], &[]),
    ("epoll_server", &["tests/c/epoll_server.c"], &[]),
    ("surface", &["tests/c/surface.c"], &[]),
    // 64 clients x 256 KiB each way keeps the checkers' runs short.
    (
        "echo64",
        &["tests/c/echo64.c", "tests/c/sha256.c"],
        &["4", "256"],
    ),
    ("demo", &["examples-c/demo.c"], &[]),
];

#[test]
fn surface_calls_flags_and_options_hold() {
    let exe = build_c("surface", &["tests/c/surface.c"], &[]);
    let out = run_ok(&mut Command::new(exe), LIMIT);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(" 0 failed"), "{text}");
}

#[test]
fn node_cycles_run_clean() {
    let exe = build_c("node_cycles", &["tests/c/node_cycles.c"], &[]);
    run_ok(&mut Command::new(exe), LIMIT);
}

/// 1,000 node lifetimes and 100,000 socket lifetimes: resident memory
/// comes back to where it started (the program judges it), and valgrind
/// finds no definite leak with the same counts.
#[test]
fn lifetimes_return_memory_and_leak_nothing() {
    let exe = build_c("lifetimes", &["tests/c/lifetimes.c"], &[]);
    let counts = ["1000", "100000"];
    let out = run_ok(Command::new(&exe).args(counts), LIMIT);
    print!("{}", String::from_utf8_lossy(&out.stdout));
    // valgrind inflates RSS: the program only prints it there.
    let mut vg = valgrind(&exe);
    vg.env("LIFETIMES_NO_RSS_CHECK", "1").args(counts);
    run_ok(&mut vg, LIMIT);
}

#[test]
fn c_suite_is_clean_under_address_and_undefined_sanitizers() {
    for (name, sources, args) in SUITE {
        let exe = build_c(&format!("{name}-asan"), sources, SANITIZE);
        run_ok(sanitizer_env(&mut Command::new(exe)).args(*args), LIMIT);
    }
}

#[test]
fn c_suite_is_clean_under_valgrind() {
    for (name, sources, args) in SUITE {
        let exe = build_c(&format!("{name}-vg"), sources, &[]);
        run_ok(valgrind(&exe).args(*args), LIMIT);
    }
}

#[test]
fn cxx_echo_runs_plain_sanitized_and_under_valgrind() {
    let plain = build_cxx("cxx-echo", &["examples-c/cxx-echo.cpp"], &[]);
    run_ok(&mut Command::new(&plain), LIMIT);
    run_ok(&mut valgrind(&plain), LIMIT);
    let asan = build_cxx("cxx-echo-asan", &["examples-c/cxx-echo.cpp"], SANITIZE);
    run_ok(sanitizer_env(&mut Command::new(asan)), LIMIT);
}

/// The examples the README lists, built into one directory (plain or
/// sanitized) for tests/c/run-examples.sh.
fn build_examples(suffix: &str, flags: &[&str]) -> std::path::PathBuf {
    let mut dir = None;
    for name in [
        "echo-server",
        "echo-client",
        "udp-echo",
        "ping",
        "poll-server",
        "http-get",
        "http-server",
        "demo",
    ] {
        let exe = build_c(
            &format!("examples{suffix}/{name}"),
            &[&format!("examples-c/{name}.c")],
            flags,
        );
        dir = exe.parent().map(|p| p.to_path_buf());
    }
    dir.unwrap()
}

fn run_examples(bindir: &std::path::Path, wrapper: &[&str]) {
    let script = common::repo().join("tests/c/run-examples.sh");
    let mut cmd = Command::new("bash");
    cmd.arg(script).arg(bindir).args(wrapper);
    sanitizer_env(&mut cmd);
    let out = run_ok(&mut cmd, Duration::from_secs(600));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(" 0 failed"), "{text}");
    println!("{text}");
}

#[test]
fn examples_run_against_each_other() {
    run_examples(&build_examples("", &[]), &[]);
}

#[test]
fn examples_run_clean_under_sanitizers_and_valgrind() {
    run_examples(&build_examples("-asan", SANITIZE), &[]);
    run_examples(
        &build_examples("", &[]),
        &[
            "valgrind",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--error-exitcode=99",
            "-q",
        ],
    );
}

#[test]
fn benchmark_quick_run_completes_with_valid_json() {
    let mut sources = vec!["examples-c/zts-bench.c".to_string()];
    let mut parts: Vec<String> = std::fs::read_dir("examples-c/bench")
        .unwrap()
        .map(|e| e.unwrap().path().to_string_lossy().into_owned())
        .filter(|p| p.ends_with(".c"))
        .collect();
    parts.sort();
    sources.extend(parts);
    let sources: Vec<&str> = sources.iter().map(String::as_str).collect();
    let exe = build_c("zts-bench", &sources, &["-O2", "-lm"]);
    let out = run_ok(
        Command::new(exe).args(["--quick", "--json", "--repeat", "2"]),
        LIMIT,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    // No figures are judged here: only that every row ran and reported,
    // over both runs, with the machine it ran on.
    for row in [
        "bulk_mtu1500",
        "bulk_mtu65535",
        "bulk8",
        "rr",
        "crr",
        "scale",
        "udp",
        "overlay",
        "reorder_5",
    ] {
        assert!(
            text.contains(&format!("\"row\": \"{row}\"")),
            "{row} missing: {text}"
        );
    }
    // The loss and rtt rows need root for the kernel's namespaces (and the
    // rtt rows its TAP devices); without it they are left out and a note
    // says why.
    let rooted = [
        "loss_0.1",
        "loss_1",
        "loss_5",
        "rtt20",
        "rtt20_loss_0.1",
        "rtt20_loss_1",
    ];
    if common::netns::root_or_skip("benchmark loss and rtt rows") {
        for row in rooted {
            assert!(
                text.contains(&format!("\"row\": \"{row}\"")),
                "{row} missing: {text}"
            );
        }
    } else {
        assert!(text.contains("skipped: needs root"), "{text}");
    }
    for key in [
        "\"machine\"",
        "\"cpus\"",
        "\"kernel\"",
        "\"runs\": 2",
        "\"ratio_min\"",
    ] {
        assert!(text.contains(key), "{key} missing: {text}");
    }
    assert!(text.trim_start().starts_with('{') && text.trim_end().ends_with('}'));
    assert!(!text.contains("nan"), "{text}");
}

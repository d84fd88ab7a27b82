//! The C programs (examples and tests) built with -Wall -Wextra -Werror
//! against zts.h and libzts, run as a user would run them.

mod common;

use common::{build_c, run_ok};
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
fn node_cycles_leave_no_leak_under_valgrind() {
    let exe = build_c("node_cycles", &["tests/c/node_cycles.c"], &[]);
    let out = run_ok(
        Command::new("valgrind")
            .args([
                "--leak-check=full",
                "--errors-for-leak-kinds=definite",
                "--error-exitcode=99",
                "-q",
            ])
            .arg(exe),
        Duration::from_secs(600),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("definitely lost"), "{err}");
}

#[test]
fn one_epoll_loop_serves_200_zts_connections_and_a_pipe() {
    let exe = build_c("epoll_server", &["tests/c/epoll_server.c"], &[]);
    let out = run_ok(&mut Command::new(exe), LIMIT);
    println!("{}", String::from_utf8_lossy(&out.stdout));
}

fn surface(sanitized: bool) {
    let (name, flags): (&str, &[&str]) = if sanitized {
        (
            "surface-asan",
            &["-fsanitize=address,undefined", "-fno-omit-frame-pointer"],
        )
    } else {
        ("surface", &[])
    };
    let exe = build_c(name, &["tests/c/surface.c"], flags);
    let mut cmd = Command::new(exe);
    cmd.env("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
        .env("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1");
    let out = run_ok(&mut cmd, LIMIT);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(" 0 failed"), "{text}");
}

#[test]
fn surface_calls_flags_and_options_hold() {
    surface(false);
}

#[test]
fn surface_is_clean_under_address_and_undefined_sanitizers() {
    surface(true);
}

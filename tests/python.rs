//! The Python binding: its pytest suite against the library cargo built,
//! and `pip install ./bindings/python` used from another directory.

mod common;

use common::netns::need_tools;
use common::{lib_dir, out_dir, repo, run_ok};
use std::process::Command;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(600);

#[test]
fn pytest_suite_passes() {
    let pytest = Command::new("python3")
        .args(["-m", "pytest", "--version"])
        .output();
    assert!(
        pytest.is_ok_and(|o| o.status.success()),
        "pytest is not installed: tests/all.sh installs it (pip install pytest)"
    );
    let out = run_ok(
        Command::new("python3")
            .args(["-m", "pytest", "-q", "-s", "-p", "no:cacheprovider"])
            .arg(repo().join("bindings/python/tests"))
            .env("ZTS_LIBRARY", lib_dir().join("libzts.so"))
            .env("PYTHONPATH", repo().join("bindings/python")),
        LIMIT,
    );
    println!("{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn pip_installed_package_moves_64_mib_from_another_directory() {
    need_tools(&["python3"]);
    let base = out_dir().join("pip");
    let _ = std::fs::remove_dir_all(&base);
    let venv = base.join("venv");
    run_ok(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        LIMIT,
    );
    // The same cargo target dir as the suite, so the release build is shared.
    run_ok(
        Command::new(venv.join("bin/pip"))
            .args(["install", "-q"])
            .arg(repo().join("bindings/python"))
            .env("CARGO_TARGET_DIR", repo().join("target"))
            .env_remove("ZTS_LIBRARY"),
        LIMIT,
    );
    let work = base.join("elsewhere");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(
        work.join("move.py"),
        r#"import hashlib, threading, zts
data = hashlib.sha256(b"seed").digest() * (64 * 1024 * 1024 // 32)
with zts.Node() as a, zts.Node() as b:
    for n, ip in ((a, "10.88.0.1/24"), (b, "10.88.0.2/24")):
        n.add_address(n.join("mem:pip"), ip); n.start()
    server = a.create_server(("10.88.0.1", 9000))
    got = hashlib.sha256()
    def serve():
        conn, _ = server.accept()
        with conn:
            while chunk := conn.recv(1 << 20):
                got.update(chunk)
    t = threading.Thread(target=serve); t.start()
    with b.create_connection(("10.88.0.1", 9000)) as s:
        s.sendall(data)
    t.join()
    assert got.hexdigest() == hashlib.sha256(data).hexdigest()
    print("moved 64 MiB, sha256", got.hexdigest())
"#,
    )
    .unwrap();
    let out = run_ok(
        Command::new(venv.join("bin/python"))
            .arg("move.py")
            .current_dir(&work)
            .env_remove("ZTS_LIBRARY")
            .env_remove("PYTHONPATH"),
        LIMIT,
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("moved 64 MiB"));
}

//! The C and C++ user's path: cmake builds and installs zts into a prefix;
//! an out-of-tree CMake project (find_package) and a pkg-config build each
//! link it, shared and static, and run. Also the headers on their own.

mod common;

use common::netns::need_tools;
use common::{CFLAGS, out_dir, repo, run_ok};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(600);

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs the README's install commands once into a fresh prefix.
fn prefix() -> &'static Path {
    static PREFIX: OnceLock<PathBuf> = OnceLock::new();
    PREFIX.get_or_init(|| {
        need_tools(&["cmake", "pkg-config", "c++", "readelf"]);
        let base = out_dir().join("install");
        let _ = std::fs::remove_dir_all(&base);
        let (build, prefix) = (base.join("build"), base.join("prefix"));
        // A target dir of its own, kept between runs: this build's libzts.so
        // carries the SONAME, a plain cargo build's does not.
        let target = repo().join("target").join("cmake-cargo");
        run_ok(
            Command::new("cmake").args([
                "-S",
                s(&repo().join("cmake")),
                "-B",
                s(&build),
                &format!("-DZTS_CARGO_TARGET_DIR={}", s(&target)),
            ]),
            LIMIT,
        );
        run_ok(Command::new("cmake").args(["--build", s(&build)]), LIMIT);
        run_ok(
            Command::new("cmake").args(["--install", s(&build), "--prefix", s(&prefix)]),
            LIMIT,
        );
        prefix
    })
}

/// The README's plain path: `cargo build --release`, then
/// `cc app.c -Iinclude -Ltarget/release -lzts -Wl,-rpath,$PWD/target/release`
/// builds a program that starts, with no versioned name to make by hand.
#[test]
fn plain_cargo_build_links_with_dash_lzts_and_runs() {
    need_tools(&["cc", "readelf"]);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run_ok(
        Command::new(cargo)
            .current_dir(repo())
            .args(["build", "--release", "--lib", "--quiet"]),
        LIMIT,
    );
    let release = repo().join("target").join("release");
    // A link left by older builds or by hand would hide a wrong SONAME.
    let _ = std::fs::remove_file(release.join("libzts.so.0.1"));
    let exe = out_dir().join("plain-demo");
    run_ok(
        Command::new("cc")
            .current_dir(repo())
            .args(CFLAGS)
            .args([
                "examples-c/demo.c",
                "-Iinclude",
                "-Ltarget/release",
                "-lzts",
            ])
            .arg(format!("-Wl,-rpath,{}", s(&release)))
            .arg("-o")
            .arg(&exe),
        LIMIT,
    );
    let needed = run_ok(Command::new("readelf").arg("-d").arg(&exe), LIMIT);
    let needed = String::from_utf8_lossy(&needed.stdout);
    assert!(needed.contains("[libzts.so]"), "{needed}");
    let lib = run_ok(
        Command::new("readelf")
            .arg("-d")
            .arg(release.join("libzts.so")),
        LIMIT,
    );
    assert!(
        !String::from_utf8_lossy(&lib.stdout).contains("SONAME"),
        "a plain cargo build's libzts.so has no SONAME"
    );
    let out = run_ok(&mut Command::new(&exe), LIMIT);
    assert!(!out.stdout.is_empty(), "the demo printed nothing");
}

#[test]
fn install_lays_out_libraries_headers_and_package_files() {
    let p = prefix();
    for f in [
        "lib/libzts.so",
        "lib/libzts.so.0.1",
        "lib/libzts.so.0.1.0",
        "lib/libzts.a",
        "lib/libzts_preload.so",
        "include/zts.h",
        "include/zts.hpp",
        "lib/pkgconfig/zts.pc",
        "lib/cmake/zts/ztsConfig.cmake",
        "lib/cmake/zts/ztsConfigVersion.cmake",
    ] {
        assert!(p.join(f).exists(), "{f} is not installed");
    }
    let link = std::fs::read_link(p.join("lib/libzts.so")).unwrap();
    assert_eq!(link, PathBuf::from("libzts.so.0.1"));
    let out = run_ok(
        Command::new("readelf").args(["-d", s(&p.join("lib/libzts.so.0.1.0"))]),
        LIMIT,
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("[libzts.so.0.1]"),
        "SONAME libzts.so.0.1"
    );
    let pc = std::fs::read_to_string(p.join("lib/pkgconfig/zts.pc")).unwrap();
    assert!(pc.contains("Libs.private:"), "{pc}");
}

fn consumer(static_link: bool) {
    let p = prefix();
    let build = out_dir().join(if static_link {
        "consumer-static"
    } else {
        "consumer"
    });
    let _ = std::fs::remove_dir_all(&build);
    run_ok(
        Command::new("cmake").args([
            "-S",
            s(&repo().join("tests/consumer")),
            "-B",
            s(&build),
            &format!("-DCMAKE_PREFIX_PATH={}", s(p)),
            &format!("-DZTS_STATIC={}", if static_link { "ON" } else { "OFF" }),
        ]),
        LIMIT,
    );
    run_ok(Command::new("cmake").args(["--build", s(&build)]), LIMIT);
    for (exe, says) in [("app_c", "consumer c ok"), ("app_cpp", "consumer c++ ok")] {
        let out = run_ok(&mut Command::new(build.join(exe)), LIMIT);
        assert!(String::from_utf8_lossy(&out.stdout).contains(says));
        let deps = run_ok(
            Command::new("readelf").args(["-d", s(&build.join(exe))]),
            LIMIT,
        );
        let shared = String::from_utf8_lossy(&deps.stdout).contains("libzts.so");
        assert_eq!(
            shared,
            !static_link,
            "{exe}: linked {}",
            if shared { "shared" } else { "static" }
        );
    }
}

#[test]
fn find_package_builds_c_and_cxx_programs_shared() {
    consumer(false);
}

#[test]
fn find_package_builds_c_and_cxx_programs_static() {
    consumer(true);
}

fn pkg_config(args: &[&str]) -> Vec<String> {
    let p = prefix();
    let out = run_ok(
        Command::new("pkg-config")
            .env("PKG_CONFIG_PATH", p.join("lib/pkgconfig"))
            .args(args)
            .arg("zts"),
        LIMIT,
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(String::from)
        .collect()
}

#[test]
fn pkg_config_builds_shared_and_static() {
    let p = prefix();
    let app = repo().join("tests/consumer/app.c");
    // Shared: exactly `cc app.c $(pkg-config --cflags --libs zts)`.
    let shared = out_dir().join("pc-shared");
    run_ok(
        Command::new("cc")
            .arg(&app)
            .args(pkg_config(&["--cflags", "--libs"]))
            .arg("-o")
            .arg(&shared),
        LIMIT,
    );
    let out = run_ok(
        Command::new(&shared).env("LD_LIBRARY_PATH", p.join("lib")),
        LIMIT,
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("consumer c ok"));
    // Static: the archive, then what Libs.private says it needs.
    let fixed = out_dir().join("pc-static");
    let private: Vec<String> = pkg_config(&["--static", "--libs"])
        .into_iter()
        .filter(|a| a != "-lzts")
        .collect();
    run_ok(
        Command::new("cc")
            .arg(&app)
            .args(pkg_config(&["--cflags"]))
            .arg(p.join("lib/libzts.a"))
            .args(private)
            .arg("-o")
            .arg(&fixed),
        LIMIT,
    );
    let out = run_ok(&mut Command::new(&fixed), LIMIT);
    assert!(String::from_utf8_lossy(&out.stdout).contains("consumer c ok"));
}

#[test]
fn headers_compile_alone_twice_as_c11_and_cxx17() {
    let dir = out_dir();
    let c = dir.join("hdr.c");
    std::fs::write(
        &c,
        "#include <zts.h>\n#include <zts.h>\nint main(void) { return zts_errno(); }\n",
    )
    .unwrap();
    let inc = format!("-I{}", s(&repo().join("include")));
    run_ok(
        Command::new("cc")
            .args(CFLAGS)
            .args(["-pedantic", "-fsyntax-only", &inc])
            .arg(&c),
        LIMIT,
    );
    let cpp = dir.join("hdr.cpp");
    std::fs::write(
        &cpp,
        "#include <zts.h>\n#include <zts.h>\n#include <zts.hpp>\n#include <zts.hpp>\nint main() { return zts_errno(); }\n",
    )
    .unwrap();
    run_ok(
        Command::new("c++")
            .args([
                "-std=c++17",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-pedantic",
                "-fsyntax-only",
                &inc,
            ])
            .arg(&cpp),
        LIMIT,
    );
}

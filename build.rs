//! Generates `include/zts.h` from the `extern "C"` items in `src/ffi/`.
//!
//! The header is written to OUT_DIR and, when it differs, to `include/zts.h`
//! in the source tree, which is committed; `tests/header.rs` fails while the
//! committed copy differs from the generated one.

use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-changed=src");
    // A plain cargo build leaves a libzts.so that `cc -lzts` links and runs
    // as it is: no SONAME, so programs ask for libzts.so. The install build
    // (cmake/) versions it, as cargo-c does at install: ZTS_SONAME names it.
    println!("cargo:rerun-if-env-changed=ZTS_SONAME");
    if let Some(soname) = std::env::var_os("ZTS_SONAME").filter(|s| !s.is_empty()) {
        let soname = soname.into_string().expect("ZTS_SONAME is UTF-8");
        assert!(
            soname.starts_with("libzts.so") && !soname.contains(char::is_whitespace),
            "ZTS_SONAME must be a libzts.so name, e.g. libzts.so.0.1 (got {soname:?})"
        );
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
    }
    println!("cargo:rerun-if-changed=cbindgen.toml");

    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is readable");
    let header = match cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
    {
        Ok(bindings) => {
            let mut text = Vec::new();
            bindings.write(&mut text);
            text
        }
        Err(e) => panic!("cbindgen could not generate zts.h: {e}"),
    };
    std::fs::write(out_dir.join("zts.h"), &header).expect("write OUT_DIR/zts.h");
    let committed = crate_dir.join("include").join("zts.h");
    if std::fs::read(&committed).ok().as_deref() != Some(&header[..]) {
        std::fs::create_dir_all(committed.parent().unwrap()).expect("create include/");
        std::fs::write(&committed, &header).expect("write include/zts.h");
    }
}

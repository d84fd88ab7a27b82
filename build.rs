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
    // The shared library's SONAME: for 0.x versions the minor number is the
    // ABI (cargo-c's convention), so libzts.so.0.1.
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap();
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").unwrap();
    let soname = if major == "0" {
        format!("libzts.so.0.{minor}")
    } else {
        format!("libzts.so.{major}")
    };
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
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

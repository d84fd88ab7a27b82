//! zts: a userspace TCP/IP stack in a library.
//!
//! An application gets its own network hosts ("nodes"), each with its own
//! addresses, sockets and stack thread, reached through BSD-style calls
//! (`zts_socket`, `zts_connect`, `zts_read`, ...) exported with a C ABI
//! (see `include/zts.h`). smoltcp is the TCP/IP engine; nodes talk over
//! taps such as the in-process switch (`mem:NAME`).

pub mod error;
pub mod events;
#[doc(hidden)]
pub mod fault;
pub mod ffi;
pub mod node;
mod pages;
pub mod resolve;
pub mod socket;
pub mod stack;
pub mod tap;
#[doc(hidden)]
pub mod testing;
pub mod wake;

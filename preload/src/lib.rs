//! `libzts_preload.so`: unmodified, dynamically linked programs on zts
//! networks, by interposing their socket calls (`LD_PRELOAD`).
//!
//! Each zts socket the program holds is a real kernel fd: one end of a
//! Unix socket pair for a connection (the library's pump threads copy
//! between its other end and zts), a Unix listening socket for a listener
//! (zts's accepted connections are connected to it, their addresses in
//! front), one end of a Unix SOCK_SEQPACKET pair for a datagram socket
//! (each datagram led by its address). So the kernel does read, write,
//! poll, select, epoll, sendfile, dup, fork and close, and only the calls
//! that name addresses or options are interposed: `hooks.rs` (socket,
//! bind, listen, accept, names), `connect.rs`, `options.rs`, `fds.rs`
//! (close and dups), `dns.rs`, and for datagram sockets their data calls
//! (`dgram_io.rs`). Sockets not on a zts network, and every other kind of
//! fd, go to the C library untouched.

mod addr;
mod config;
mod connect;
mod dgram;
mod dgram_io;
mod dns;
mod fds;
mod hooks;
mod listener;
mod node;
mod options;
mod pump;
mod real;
mod table;

pub use connect::*;
pub use dgram_io::*;
pub use dns::*;
pub use fds::*;
pub use hooks::*;
pub use options::*;

//! Interop against things we did not write: the Linux kernel over VXLAN and
//! TAP (curl, ping, python's http.server), dnsmasq for DHCP and DNS, a
//! second OS process over the overlay, and tshark reading our capture.
//! Each test makes its own namespaces and removes them.

mod common;

use common::api::*;
use common::netns::*;
use common::{Scratch, build_c, run_ok};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use zts::ffi::node::*;
use zts::ffi::socket::*;

const WAIT: Duration = Duration::from_secs(60);

/// A directory holding `blob`: `size` seeded bytes.
/// A directory of the test's own under the output directory, removed when
/// the test ends (the blobs and copies of a run add up to 100 MB).
fn served_dir(name: &str, size: usize) -> Scratch {
    let dir = Scratch::new(name);
    std::fs::write(dir.join("blob"), pattern(size, size as u64)).unwrap();
    dir
}

fn http_server() -> PathBuf {
    build_c("http-server", &["examples-c/http-server.c"], &["-O2"])
}

fn http_get() -> PathBuf {
    build_c("http-get", &["examples-c/http-get.c"], &["-O2"])
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// curl in `ns` fetches url into a file and returns its hash.
fn curl(ns: &Netns, url: &str, dir: &Path) -> String {
    let out = dir.join(unique("curl"));
    ns.run(&["curl", "-sSf", "--max-time", "60", "-o", s(&out), url]);
    sha256(&out)
}

/// The kernel at `kernel_ip` (in `k`) and a zts node (run in `z`, over
/// `uri`, at `prefix.2` serving and `prefix.3` fetching) exchange the blob
/// both ways: curl downloads from examples-c/http-server.c, kernel ping
/// reaches it (if `ping`), and examples-c/http-get.c downloads from
/// python's http.server. Every copy must hash like the source; each
/// transfer's time is printed.
fn both_ways(k: &Netns, z: &Netns, uri: &str, prefix: &str, dir: &Path, ping: bool) {
    let (server, getter) = (http_server(), http_get());
    let want = sha256(&dir.join("blob"));
    let (kernel_ip, serving, fetching) = (
        format!("{prefix}.1"),
        format!("{prefix}.2"),
        format!("{prefix}.3"),
    );
    let mut srv = Bg::spawn(z.cmd(&[s(&server), uri, &format!("{serving}/24"), "8080", s(dir)]));
    srv.wait_for("ready", WAIT);
    let url = format!("http://{serving}:8080/blob");
    let t = std::time::Instant::now();
    assert_eq!(curl(k, &url, dir), want, "curl from the kernel");
    println!("zts server to curl: {:.2} s", t.elapsed().as_secs_f64());
    if ping {
        k.run(&["ping", "-c", "3", "-W", "5", &serving]);
    }
    drop(srv);

    let mut py = Bg::spawn(k.cmd(&[
        "python3",
        "-u",
        "-m",
        "http.server",
        "8000",
        "--bind",
        &kernel_ip,
        "--directory",
        s(dir),
    ]));
    py.wait_for("Serving HTTP", WAIT);
    let got = dir.join(unique("from-kernel"));
    let url = format!("http://{kernel_ip}:8000/blob");
    let t = std::time::Instant::now();
    run_ok(
        &mut z.cmd(&[s(&getter), uri, &format!("{fetching}/24"), &url, s(&got)]),
        WAIT,
    );
    println!(
        "python's http.server to zts http-get: {:.2} s",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(sha256(&got), want, "zts http-get from python's http.server");
}

/// Namespaces `k` (the kernel, on a vxlan device at 10.200.0.1) and `z`
/// (for zts's overlay endpoint at 10.99.0.2) joined by a veth pair; the
/// veth ends (`k`'s, `z`'s) and the URI a zts node in `z` joins the
/// overlay with.
fn kernel_vxlan(k: &Netns, z: &Netns) -> (String, String, &'static str) {
    let (kdev, zdev) = veth(k, "10.99.0.1/24", z, "10.99.0.2/24");
    let vx = unique("vx");
    k.run(&[
        "ip",
        "link",
        "add",
        &vx,
        "type",
        "vxlan",
        "id",
        "42",
        "dstport",
        "4789",
        "local",
        "10.99.0.1",
        "dev",
        &kdev,
    ]);
    k.run(&[
        "bridge",
        "fdb",
        "append",
        "00:00:00:00:00:00",
        "dev",
        &vx,
        "dst",
        "10.99.0.2",
    ]);
    k.run(&["ip", "addr", "add", "10.200.0.1/24", "dev", &vx]);
    k.run(&["ip", "link", "set", &vx, "up"]);
    // Over a veth there is no NIC to fill in the inner checksums the
    // kernel leaves to hardware: have the kernel compute them itself.
    k.run(&["ethtool", "-K", &vx, "tx", "off"]);
    // The kernel's vxlan device has MTU 1450 (1500 less the overlay headers).
    (
        kdev,
        zdev,
        "vxlan://10.99.0.2:4789?vni=42&peer=10.99.0.1:4789&mtu=1450",
    )
}

#[test]
fn kernel_vxlan_peer_curl_ping_and_http_get() {
    if !root_or_skip("kernel_vxlan_peer") {
        return;
    }
    need_tools(&[
        "ip",
        "bridge",
        "ethtool",
        "curl",
        "ping",
        "python3",
        "sha256sum",
    ]);
    let dir = served_dir("vxlan", 3 << 20);
    let (k, z) = (Netns::new(), Netns::new());
    let (_, _, uri) = kernel_vxlan(&k, &z);
    both_ways(&k, &z, uri, "10.200.0", &dir, true);
}

/// An unmodified program on zts as the kernel's peer: python's
/// http.server, preloaded with libzts_preload.so in one namespace, serves
/// curl in another across the kernel's VXLAN device.
#[test]
fn kernel_curl_from_a_preloaded_http_server_across_vxlan() {
    if !root_or_skip("kernel_curl_from_a_preloaded_http_server") {
        return;
    }
    need_tools(&["ip", "bridge", "ethtool", "curl", "python3", "sha256sum"]);
    let dir = served_dir("vxpre", 8 << 20);
    let (k, z) = (Netns::new(), Netns::new());
    let (_, _, uri) = kernel_vxlan(&k, &z);
    let lib = common::lib_dir().join("libzts_preload.so");
    let mut srv = Bg::spawn(z.cmd(&[
        "env",
        &format!("ZTS_NET={uri}"),
        "ZTS_ADDR=10.200.0.2/24",
        &format!("LD_PRELOAD={}", lib.display()),
        "python3",
        "-u",
        "-m",
        "http.server",
        "8000",
        "--bind",
        "10.200.0.2",
        "--directory",
        s(&dir),
    ]));
    srv.wait_for("Serving HTTP", WAIT);
    let t = std::time::Instant::now();
    let got = curl(&k, "http://10.200.0.2:8000/blob", &dir);
    println!(
        "preloaded server to curl: {:.2} s",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(got, sha256(&dir.join("blob")));
}

/// A preloaded, unmodified curl on a TAP device takes its address by DHCP
/// from dnsmasq (ZTS_ADDR=dhcp), resolves the server's name through the
/// lease's DNS server, and fetches from python's http.server.
#[test]
fn preloaded_curl_by_dhcp_and_the_lease_dns() {
    if !root_or_skip("preloaded_curl_by_dhcp") {
        return;
    }
    need_tools(&["ip", "dnsmasq", "python3", "curl", "sha256sum"]);
    let dir = served_dir("pldhcp", 1 << 20);
    let want = sha256(&dir.join("blob"));
    let z = Netns::new();
    let (tap, _dns, _py) = dhcp_lab(&z, "10.205.0", &dir);
    let got = dir.join("by-name");
    let lib = common::lib_dir().join("libzts_preload.so");
    run_ok(
        &mut z.cmd(&[
            "env",
            &format!("ZTS_NET=tap:{tap}"),
            "ZTS_ADDR=dhcp",
            &format!("LD_PRELOAD={}", lib.display()),
            "curl",
            "-sSf",
            "--max-time",
            "60",
            "-o",
            s(&got),
            "http://server.zts.test:8000/blob",
        ]),
        WAIT,
    );
    assert_eq!(sha256(&got), want);
}

/// The kernel as a TCP peer across an overlay that loses 1% of its frames
/// each way (iptables drops arriving VXLAN datagrams at random on both
/// underlay ends): 32 MiB from a zts server to curl and from python's
/// http.server to a zts client, each intact and each within a minute.
#[test]
fn kernel_vxlan_peer_across_1_percent_loss_32_mib_each_way() {
    if !root_or_skip("kernel_vxlan_peer_loss") {
        return;
    }
    need_tools(&[
        "ip",
        "bridge",
        "ethtool",
        "iptables",
        "curl",
        "python3",
        "sha256sum",
    ]);
    let dir = served_dir("vxloss", 32 << 20);
    let (k, z) = (Netns::new(), Netns::new());
    let (kdev, zdev, uri) = kernel_vxlan(&k, &z);
    for (ns, dev) in [(&k, kdev.as_str()), (&z, zdev.as_str())] {
        ns.run(&[
            "iptables",
            "-A",
            "INPUT",
            "-i",
            dev,
            "-p",
            "udp",
            "--dport",
            "4789",
            "-m",
            "statistic",
            "--mode",
            "random",
            "--probability",
            "0.01",
            "-j",
            "DROP",
        ]);
    }
    both_ways(&k, &z, uri, "10.200.0", &dir, false);
}

#[test]
fn kernel_tap_peer_curl_ping_and_http_get() {
    if !root_or_skip("kernel_tap_peer") {
        return;
    }
    need_tools(&["ip", "curl", "ping", "python3", "sha256sum", "setpriv"]);
    let server = http_server();
    let dir = served_dir("tap", 3 << 20);
    let z = Netns::new();
    let tap = unique("zt");
    // A persistent device, configured once, that each program attaches to;
    // the kernel side is the namespace itself.
    z.run(&["ip", "tuntap", "add", &tap, "mode", "tap"]);
    z.run(&["ip", "addr", "add", "10.201.0.1/24", "dev", &tap]);
    z.run(&["ip", "link", "set", &tap, "up"]);
    both_ways(&z, &z, &format!("tap:{tap}"), "10.201.0", &dir, true);

    // Without CAP_NET_ADMIN: EPERM, and a message that says why.
    let denied = z
        .cmd(&[
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            s(&server),
            &format!("tap:{}", unique("zn")),
            "10.201.0.9/24",
            "8080",
            s(&dir),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&denied.stderr);
    assert!(!denied.status.success(), "{err}");
    assert!(err.contains("CAP_NET_ADMIN"), "{err}");
}

/// A TAP device in `z` at `net`.1 with dnsmasq serving DHCP leases
/// (`net`.50-99, router and DNS `net`.1, server.zts.test at `net`.1) and
/// python's http.server serving `dir` on port 8000; the TAP's name and the
/// two programs, stopped when dropped.
fn dhcp_lab(z: &Netns, net: &str, dir: &Path) -> (String, Bg, Bg) {
    let tap = unique("zt");
    let host = format!("{net}.1");
    z.run(&["ip", "tuntap", "add", &tap, "mode", "tap"]);
    z.run(&["ip", "addr", "add", &format!("{host}/24"), "dev", &tap]);
    z.run(&["ip", "link", "set", &tap, "up"]);
    let mut dns = Bg::spawn(z.cmd(&[
        "dnsmasq",
        "--no-daemon",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        "--log-facility=-",
        "--leasefile-ro",
        "--pid-file=",
        "--bind-interfaces",
        &format!("--interface={tap}"),
        &format!("--dhcp-range={net}.50,{net}.99,255.255.255.0,1h"),
        &format!("--dhcp-option=option:router,{host}"),
        &format!("--dhcp-option=option:dns-server,{host}"),
        &format!("--host-record=server.zts.test,{host}"),
    ]));
    dns.wait_for("DHCP", WAIT);
    let mut py = Bg::spawn(z.cmd(&[
        "python3",
        "-u",
        "-m",
        "http.server",
        "8000",
        "--bind",
        &host,
        "--directory",
        s(dir),
    ]));
    py.wait_for("Serving HTTP", WAIT);
    (tap, dns, py)
}

#[test]
fn dnsmasq_gives_address_and_dns_name() {
    if !root_or_skip("dnsmasq_dhcp_dns") {
        return;
    }
    need_tools(&["ip", "dnsmasq", "python3", "sha256sum"]);
    let getter = http_get();
    let dir = served_dir("dhcp", 1 << 20);
    let want = sha256(&dir.join("blob"));
    let z = Netns::new();
    let (tap, _dns, _py) = dhcp_lab(&z, "10.202.0", &dir);
    let got = dir.join("by-name");
    let out = run_ok(
        &mut z.cmd(&[
            s(&getter),
            &format!("tap:{tap}"),
            "dhcp",
            "http://server.zts.test:8000/blob",
            s(&got),
        ]),
        WAIT,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("address 10.202.0."),
        "a lease from dnsmasq: {text}"
    );
    assert!(
        text.contains("resolved server.zts.test to 10.202.0.1"),
        "{text}"
    );
    assert_eq!(sha256(&got), want);
}

#[test]
fn two_processes_over_vxlan_on_loopback_move_64_mib() {
    need_tools(&["sha256sum"]);
    let (server, getter) = (http_server(), http_get());
    let dir = served_dir("twoproc", 64 << 20);
    let want = sha256(&dir.join("blob"));
    let mut srv = Bg::spawn({
        let mut c = Command::new(&server);
        c.args([
            "vxlan://127.0.0.1:0?vni=7&learn=1",
            "10.203.0.1/24",
            "8080",
            s(&dir),
        ]);
        c
    });
    let ready = srv.wait_for("ready", WAIT);
    let port: u16 = ready
        .rsplit("udp port ")
        .next()
        .and_then(|p| p.trim_end_matches(')').parse().ok())
        .expect("the server prints its UDP port");
    let got = dir.join("copy");
    let uri = format!("vxlan://127.0.0.1:0?vni=7&peer=127.0.0.1:{port}");
    run_ok(
        Command::new(&getter).args([
            &uri,
            "10.203.0.2/24",
            "http://10.203.0.1:8080/blob",
            s(&got),
        ]),
        Duration::from_secs(240),
    );
    assert_eq!(sha256(&got), want);
}

#[test]
fn tshark_reads_the_capture_of_a_tcp_exchange() {
    need_tools(&["tshark"]);
    let dir = Scratch::new("cap");
    let cap = dir.join("capture.pcap");
    let a = node(&format!("cap?pcap={}", cap.display()), &["10.204.0.1/24"]);
    let b = node("cap", &["10.204.0.2/24"]);
    let l = listener(a, "10.204.0.1:7".parse().unwrap(), 1);
    let c = tcp(b, libc::AF_INET);
    ok(connect(c, "10.204.0.1:7".parse().unwrap()));
    let (srv, _) = accept(l);
    write_all(c, b"hello pcap");
    let mut buf = [0u8; 16];
    assert_eq!(read(srv, &mut buf), 10);
    // Enough for segments of 64 KiB, which a captured wire shows cut into
    // the MTU's frames.
    let bulk: Vec<u8> = (0..256 * 1024u32).map(|i| (i % 251) as u8).collect();
    write_all(c, &bulk);
    ok(zts_shutdown(c, libc::SHUT_WR));
    assert_eq!(read_to_end(srv), bulk);
    for fd in [c, srv, l] {
        ok(zts_close(fd));
    }
    ok(zts_node_free(a));
    ok(zts_node_free(b));
    let out = run_ok(
        Command::new("tshark").args([
            "-r",
            s(&cap),
            // A captured wire's frames carry real checksums (nodes skip
            // them only on wires nothing shows).
            "-o",
            "tcp.check_checksum:TRUE",
            "-o",
            "ip.check_checksum:TRUE",
            "-Y",
            "tcp",
            "-T",
            "fields",
            "-e",
            "tcp.flags.syn",
            "-e",
            "tcp.flags.ack",
            "-e",
            "tcp.payload",
            "-e",
            "tcp.checksum.status",
            "-e",
            "ip.checksum.status",
            "-e",
            "frame.len",
        ]),
        WAIT,
    );
    let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    let flag = |v: &str| v == "1" || v == "true";
    assert!(
        rows.iter().any(|r| flag(r[0]) && !flag(r[1])),
        "SYN: {text}"
    );
    assert!(
        rows.iter().any(|r| flag(r[0]) && flag(r[1])),
        "SYN-ACK: {text}"
    );
    // tshark's checksum status: 1 is good (0 bad, 2 unverified).
    for r in &rows {
        assert_eq!(
            (r.get(3), r.get(4)),
            (Some(&"1"), Some(&"1")),
            "a TCP or IP checksum is not good: {text}"
        );
        let len: usize = r.get(5).and_then(|l| l.parse().ok()).unwrap_or(0);
        assert!(len > 0 && len <= 1514, "a frame of {len} bytes on MTU 1500");
    }
    assert!(rows.len() > 180, "256 KiB in {} frames", rows.len());
    let hello: String = b"hello pcap".iter().map(|b| format!("{b:02x}")).collect();
    assert!(
        rows.iter()
            .any(|r| r.get(2).is_some_and(|p| p.replace(':', "") == hello)),
        "payload: {text}"
    );
}

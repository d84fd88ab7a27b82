//! Unmodified programs over zts through libzts_preload.so. Each test runs
//! its programs in a network namespace of its own where only loopback is
//! up (`unshare -rn`, or `unshare -n` as root), and a PID namespace whose
//! end ends every server the script started, on a VXLAN overlay over
//! 127.0.0.1: node A is 10.7.0.1, node B 10.7.0.2. A socket call that
//! slipped past the library could reach nothing there. Bytes are checked
//! by SHA-256.

mod common;

use common::api::pattern;
use common::netns::{need_tools, sha256};
use common::{Scratch, build_c, lib_dir};
use std::path::Path;
use std::process::Command;

/// What every script starts with: loopback up, `$A` and `$B` to run a
/// program preloaded on node A or B, and `wait_for FILE TEXT`, a bounded
/// wait for a program's readiness line.
const PRELUDE: &str = r#"
set -eu
ip link set lo up
A="env ZTS_LOG=1 ZTS_NET=vxlan://127.0.0.1:4801?vni=7&peer=127.0.0.1:4802 ZTS_ADDR=10.7.0.1/24 LD_PRELOAD=$LIB"
B="env ZTS_LOG=1 ZTS_NET=vxlan://127.0.0.1:4802?vni=7&peer=127.0.0.1:4801 ZTS_ADDR=10.7.0.2/24 LD_PRELOAD=$LIB"
wait_for() {
  i=0
  until grep -q "$2" "$1" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -ge 600 ]; then echo "no '$2' in $1 after 30 s:"; cat "$1"; exit 1; fi
    sleep 0.05
  done
}
"#;

fn skip_on_purpose(test: &str) -> bool {
    if std::env::var("ZTS_SKIP_NETNS").as_deref() == Ok("1") {
        eprintln!("{test}: skipped on purpose (ZTS_SKIP_NETNS=1)");
        return true;
    }
    false
}

/// Runs `script` after the prelude in a namespace of its own, in `dir`;
/// panics with everything it printed unless it succeeds. Returns stdout.
fn in_namespace(dir: &Path, script: &str) -> String {
    need_tools(&["unshare", "ip", "timeout"]);
    let lib = lib_dir().join("libzts_preload.so");
    assert!(lib.exists(), "{} not built", lib.display());
    // SAFETY: geteuid has no arguments and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let unshare: &[&str] = if root {
        &["unshare", "-n", "--pid", "--fork"]
    } else {
        &["unshare", "-rn", "--pid", "--fork"]
    };
    let out = Command::new("timeout")
        .arg("240")
        .args(unshare)
        .args(["sh", "-c", &format!("{PRELUDE}{script}")])
        .current_dir(dir)
        .env("LIB", &lib)
        .env("REPO", common::repo())
        .output()
        .expect("unshare runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success(),
        "the script failed ({}); unshare needs user namespaces, or root\n\
         stdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    println!("{stdout}");
    stdout
}

fn write_blob(dir: &Path, name: &str, size: usize) -> String {
    let p = dir.join(name);
    std::fs::write(&p, pattern(size, size as u64)).unwrap();
    sha256(&p)
}

/// An echo server in Python: echoes each connection until the client's
/// half-close, then closes. `ready` once listening.
const ECHO_PY: &str = r#"
import socket, sys, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(8)
print("ready", flush=True)
def serve(c):
    while True:
        b = c.recv(65536)
        if not b:
            break
        c.sendall(b)
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"#;

#[test]
fn python_http_server_to_curl_8_mib_by_a_name_from_zts_hosts() {
    if skip_on_purpose("python_http_server_to_curl_8_mib_by_a_name_from_zts_hosts") {
        return;
    }
    need_tools(&["python3", "curl"]);
    let dir = Scratch::new("pl-http");
    let want = write_blob(&dir, "blob", 8 << 20);
    in_namespace(
        &dir,
        r#"
$A python3 -u -m http.server 8000 --bind 10.7.0.1 > server.log 2>&1 &
wait_for server.log "Serving HTTP"
$B env ZTS_HOSTS=web=10.7.0.1 curl -sSf --max-time 60 -o got http://web:8000/blob
"#,
    );
    assert_eq!(sha256(&dir.join("got")), want);
}

#[test]
fn nginx_master_and_worker_with_epoll_and_sendfile_to_a_zts_client_32_mib() {
    if skip_on_purpose("nginx_master_and_worker_with_epoll_and_sendfile_to_a_zts_client_32_mib") {
        return;
    }
    need_tools(&["nginx"]);
    let dir = Scratch::new("pl-nginx");
    let www = dir.join("www");
    std::fs::create_dir_all(&www).unwrap();
    let want = write_blob(&www, "blob", 32 << 20);
    let d = dir.display();
    // A master and one worker that accepts on the listener it inherits;
    // every path the program writes is the test's own.
    let conf = format!(
        "daemon off;\nmaster_process on;\nworker_processes 1;\nuser root root;\n\
         error_log stderr notice;\npid {d}/nginx.pid;\n\
         events {{ use epoll; }}\n\
         http {{\n  sendfile on;\n  access_log off;\n\
           client_body_temp_path {d}/t1; proxy_temp_path {d}/t2; fastcgi_temp_path {d}/t3;\n\
           uwsgi_temp_path {d}/t4; scgi_temp_path {d}/t5;\n\
           server {{ listen 10.7.0.1:8080; root {d}/www; }}\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let client = build_c("http-get", &["examples-c/http-get.c"], &["-O2"]);
    let script = format!(
        r#"
$A nginx -p "$PWD" -c "$PWD/nginx.conf" -e stderr > nginx.log 2>&1 &
wait_for nginx.log "start worker process"
wait_for nginx.log "listening on zts"
{client} 'vxlan://127.0.0.1:4802?vni=7&peer=127.0.0.1:4801' 10.7.0.2/24 http://10.7.0.1:8080/blob got
grep -q "accepted" nginx.log
"#,
        client = client.display()
    );
    in_namespace(&dir, &script);
    assert_eq!(sha256(&dir.join("got")), want);
}

#[test]
fn redis_benchmark_20000_set_and_get_all_answered() {
    if skip_on_purpose("redis_benchmark_20000_set_and_get_all_answered") {
        return;
    }
    need_tools(&["redis-server", "redis-benchmark", "redis-cli"]);
    let dir = Scratch::new("pl-redis");
    let out = in_namespace(
        &dir,
        r#"
$A redis-server --bind 10.7.0.1 --port 6379 --save '' --appendonly no --protected-mode no > redis.log 2>&1 &
wait_for redis.log "Ready to accept connections"
$B redis-benchmark -h 10.7.0.1 -p 6379 -n 20000 -t set,get --csv > bench.csv 2> bench.err
cat bench.csv
$B redis-cli -h 10.7.0.1 info stats | grep total_commands_processed
"#,
    );
    assert!(out.contains("\"SET\"") && out.contains("\"GET\""), "{out}");
    // 20,000 of each, plus the benchmark's CONFIG GET and the INFO.
    let total: u64 = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("total_commands_processed:"))
        .and_then(|n| n.parse().ok())
        .expect("a command count");
    assert!(total >= 40_000, "{total} commands answered of 40,000");
}

#[test]
fn iperf3_3_s_each_way() {
    if skip_on_purpose("iperf3_3_s_each_way") {
        return;
    }
    need_tools(&["iperf3"]);
    let dir = Scratch::new("pl-iperf3");
    let out = in_namespace(
        &dir,
        r#"
$A iperf3 -s -B 10.7.0.1 --forceflush > server.log 2>&1 &
wait_for server.log "Server listening"
$B iperf3 -c 10.7.0.1 -t 3 -f m > up.log 2>&1 || { cat up.log server.log; exit 1; }
$B iperf3 -c 10.7.0.1 -t 3 -f m -R > down.log 2>&1 || { cat down.log server.log; exit 1; }
echo "client to server: $(grep receiver up.log)"
echo "server to client: $(grep receiver down.log)"
"#,
    );
    for dir in ["client to server", "server to client"] {
        let line = out.lines().find(|l| l.starts_with(dir)).unwrap();
        assert!(line.contains("Mbits/sec"), "{out}");
    }
}

#[test]
fn nc_half_close_echo() {
    if skip_on_purpose("nc_half_close_echo") {
        return;
    }
    need_tools(&["nc", "python3"]);
    let dir = Scratch::new("pl-nc");
    let want = write_blob(&dir, "blob", 1 << 20);
    std::fs::write(dir.join("echo.py"), ECHO_PY).unwrap();
    // nc -N shuts its sending side down at the end of its input; the echo
    // server sends the rest and closes; nc ends with all of it. The
    // server's overlay binds the wildcard: zts's own socket stays the
    // kernel's.
    in_namespace(
        &dir,
        r#"
$A env ZTS_NET='vxlan://0.0.0.0:4801?vni=7&peer=127.0.0.1:4802' python3 -u echo.py 10.7.0.1 9000 > echo.log 2>&1 &
wait_for echo.log ready
$B nc -N 10.7.0.1 9000 < blob > got
"#,
    );
    assert_eq!(sha256(&dir.join("got")), want);
}

/// One program, two peers: a kernel server on 127.0.0.1 and a zts one,
/// served together by one selector (epoll).
const BOTH_PY: &str = r#"
import selectors, socket, threading
kernel = socket.socket()
kernel.bind(("127.0.0.1", 0))
kernel.listen(1)
def kernel_echo():
    c, _ = kernel.accept()
    c.sendall(c.recv(100).upper())
    c.close()
threading.Thread(target=kernel_echo, daemon=True).start()
sel = selectors.DefaultSelector()
conns = {}
for name, addr in (("kernel", kernel.getsockname()), ("zts", ("10.7.0.1", 9000))):
    s = socket.create_connection(addr, timeout=30)
    s.setblocking(False)
    s.sendall(b"hello " + name.encode())
    s.shutdown(socket.SHUT_WR)
    sel.register(s, selectors.EVENT_READ, name)
    conns[name] = b""
while sel.get_map():
    for key, _ in sel.select(timeout=30):
        b = key.fileobj.recv(100)
        if b:
            conns[key.data] += b
        else:
            sel.unregister(key.fileobj)
print(type(sel).__name__, conns["kernel"].decode(), "|", conns["zts"].decode())
"#;

#[test]
fn one_program_on_kernel_loopback_and_zts_at_once() {
    if skip_on_purpose("one_program_on_kernel_loopback_and_zts_at_once") {
        return;
    }
    need_tools(&["python3"]);
    let dir = Scratch::new("pl-both");
    std::fs::write(dir.join("echo.py"), ECHO_PY).unwrap();
    std::fs::write(dir.join("both.py"), BOTH_PY).unwrap();
    let out = in_namespace(
        &dir,
        r#"
$A python3 -u echo.py 10.7.0.1 9000 > echo.log 2>&1 &
wait_for echo.log ready
$B python3 both.py
"#,
    );
    assert!(
        out.contains("EpollSelector HELLO KERNEL | hello zts"),
        "{out}"
    );
}

#[test]
fn bad_configuration_names_the_variable_and_fails_socket_calls() {
    if skip_on_purpose("bad_configuration_names_the_variable_and_fails_socket_calls") {
        return;
    }
    need_tools(&["python3"]);
    let dir = Scratch::new("pl-bad");
    let probe = r#"python3 -c '
import socket
try:
    socket.socket()
    print("socket made")
except OSError as e:
    print("socket failed:", e.errno == __import__("errno").ENETDOWN)
'"#;
    let out = in_namespace(
        &dir,
        &format!(
            r#"
env ZTS_NET=vxlan://127.0.0.1:4801 ZTS_ADDR=10.7.0.1/99 LD_PRELOAD=$LIB {probe} 2> bad.err
cat bad.err
env LD_PRELOAD=$LIB {probe}
"#
        ),
    );
    let lines: Vec<&str> = out.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines[0], "socket failed: True", "{out}");
    assert!(
        lines[1].starts_with("zts-preload: ZTS_ADDR:") && lines[1].contains("10.7.0.1/99"),
        "{out}"
    );
    // Without ZTS_NET the library does nothing.
    assert_eq!(lines[2], "socket made", "{out}");
}

#[test]
fn a_call_past_the_library_cannot_leave_the_namespace() {
    if skip_on_purpose("a_call_past_the_library_cannot_leave_the_namespace") {
        return;
    }
    need_tools(&["python3"]);
    let dir = Scratch::new("pl-escape");
    // 10.9.0.1 is on no zts network: the kernel has it, and has no route.
    let out = in_namespace(
        &dir,
        r#"
$B python3 -c '
import errno, socket
try:
    socket.create_connection(("10.9.0.1", 80), timeout=5)
except OSError as e:
    print("unreachable:", e.errno == errno.ENETUNREACH)
'
"#,
    );
    assert!(out.contains("unreachable: True"), "{out}");
}

/// Node A: a UDP upper-casing echo on port 7000 and a DNS server on 53
/// that answers every A question with 10.7.0.1.
const UDP_SERVERS_PY: &str = r#"
import socket, struct, threading
def dns():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("10.7.0.1", 53))
    while True:
        q, peer = s.recvfrom(512)
        i = 12
        while q[i]:
            i += q[i] + 1
        qtype = struct.unpack("!H", q[i + 1:i + 3])[0]
        answer = b""
        if qtype == 1:
            answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton("10.7.0.1")
        head = q[:2] + struct.pack("!HHHHH", 0x8180, 1, 1 if answer else 0, 0, 0)
        s.sendto(head + q[12:i + 5] + answer, peer)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("10.7.0.1", 7000))
threading.Thread(target=dns, daemon=True).start()
print("ready", flush=True)
while True:
    b, peer = u.recvfrom(65536)
    u.sendto(b.upper() + (" from %s" % peer[0]).encode(), peer)
"#;

/// Node B: datagrams by sendto and by a connected socket, and names by
/// ZTS_DNS and ZTS_HOSTS (and, from tests/c/preload_udp.c, by sendmmsg,
/// recvmmsg and a fortified recvfrom).
const UDP_CLIENT_PY: &str = r#"
import os, select, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(20)
s.sendto(b"hello", ("10.7.0.1", 7000))
b, peer = s.recvfrom(100)
print("sendto:", b.decode(), peer)
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.settimeout(20)
c.connect(("10.7.0.1", 7000))
c.send(b"x" * 3000)
print("connected:", len(c.recv(65536)), c.getpeername())
os.writev(c.fileno(), [b"ab", b"cd"])
select.select([c], [], [], 20)
buf = bytearray(100)
print("vectored:", bytes(buf[:os.readv(c.fileno(), [buf])]).decode())
print("dns:", socket.getaddrinfo("web.zts", 80, socket.AF_INET, socket.SOCK_STREAM)[0][4])
print("hosts:", socket.gethostbyname("listed"))
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.bind(("10.7.0.2", 7100))
r.close()
# Closing frees the port (once the library has seen the close).
for attempt in range(100):
    try:
        again = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        again.bind(("10.7.0.2", 7100))
        print("rebound after close")
        break
    except OSError:
        again.close()
        select.select([], [], [], 0.05)
"#;

#[test]
fn udp_datagrams_and_names_by_zts_dns_and_zts_hosts() {
    if skip_on_purpose("udp_datagrams_and_names_by_zts_dns_and_zts_hosts") {
        return;
    }
    need_tools(&["python3", "cc"]);
    let dir = Scratch::new("pl-udp");
    std::fs::write(dir.join("servers.py"), UDP_SERVERS_PY).unwrap();
    std::fs::write(dir.join("client.py"), UDP_CLIENT_PY).unwrap();
    let out = in_namespace(
        &dir,
        r#"
$A python3 -u servers.py > servers.log 2>&1 &
wait_for servers.log ready
$B env ZTS_DNS=10.7.0.1 ZTS_HOSTS=listed=10.7.0.9 python3 client.py
cc -O2 -D_FORTIFY_SOURCE=2 -Wall -Wextra -Werror -o mmsg "$REPO/tests/c/preload_udp.c"
$B ./mmsg
"#,
    );
    for want in [
        "sendto: HELLO from 10.7.0.2 ('10.7.0.1', 7000)",
        "connected: 3014 ('10.7.0.1', 7000)",
        "vectored: ABCD from 10.7.0.2",
        "dns: ('10.7.0.1', 80)",
        "hosts: 10.7.0.9",
        "rebound after close",
        "recvmmsg: ONE from 10.7.0.2",
        "recvmmsg: TWO from 10.7.0.2",
        "recvfrom: THREE from 10.7.0.2",
    ] {
        assert!(out.contains(want), "no {want:?} in:\n{out}");
    }
}

/// A non-blocking connect to a port nobody listens on, one routed through
/// the gateway to an address nobody has, then select, poll, dup, dup2,
/// dup3 and edge-triggered epoll on a zts and a kernel socket together.
const CALLS_PY: &str = r#"
import errno, os, select, socket
s = socket.socket()
s.setblocking(False)
print("connect:", errno.errorcode[s.connect_ex(("10.7.0.1", 9999))])
select.select([], [s], [], 20)
print("SO_ERROR:", errno.errorcode[s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)])
try:
    socket.create_connection(("10.9.0.1", 80), timeout=1)
except OSError as e:
    print("through the gateway:", type(e).__name__)
c = socket.create_connection(("10.7.0.1", 9000), timeout=20)
d = socket.socket(fileno=os.dup(c.fileno()))
d.settimeout(20)
d.sendall(b"through a dup")
p = select.poll()
p.register(d, select.POLLIN)
print("poll:", p.poll(20000) != [], d.recv(100).decode(), d.getpeername())
k = socket.socket()
k.bind(("127.0.0.1", 0))
k.listen(1)
kc = socket.create_connection(k.getsockname())
ka, _ = k.accept()
two = os.dup2(c.fileno(), 100)
three = os.dup2(c.fileno(), 101, inheritable=False)
ep = select.epoll()
ep.register(two, select.EPOLLIN | select.EPOLLET)
ep.register(ka.fileno(), select.EPOLLIN | select.EPOLLET)
kc.sendall(b"k")
os.write(three, b"zz")
seen = set()
for _ in range(40):
    for fd, _ in ep.poll(0.5):
        seen.add("zts" if fd == two else "kernel")
    if len(seen) == 2:
        break
print("epoll-et:", sorted(seen), socket.socket(fileno=os.dup(three)).getpeername())
d.shutdown(socket.SHUT_WR)
rest = b""
while True:
    b = d.recv(100)
    if not b:
        break
    rest += b
print("eof after:", rest)
"#;

#[test]
fn connect_errors_the_gateway_select_poll_dups_and_edge_triggered_epoll() {
    if skip_on_purpose("connect_errors_the_gateway_select_poll_dups_and_edge_triggered_epoll") {
        return;
    }
    need_tools(&["python3"]);
    let dir = Scratch::new("pl-calls");
    std::fs::write(dir.join("echo.py"), ECHO_PY).unwrap();
    std::fs::write(dir.join("calls.py"), CALLS_PY).unwrap();
    let out = in_namespace(
        &dir,
        r#"
$A python3 -u echo.py 10.7.0.1 9000 > echo.log 2>&1 &
wait_for echo.log ready
$B env ZTS_GATEWAY=10.7.0.1 python3 calls.py 2>&1
"#,
    );
    for want in [
        "connect: EINPROGRESS",
        "SO_ERROR: ECONNREFUSED",
        "through the gateway: TimeoutError",
        "connect Some(10.9.0.1) on zts",
        "poll: True through a dup ('10.7.0.1', 9000)",
        "epoll-et: ['kernel', 'zts'] ('10.7.0.1', 9000)",
        "eof after: b'zz'",
    ] {
        assert!(out.contains(want), "no {want:?} in:\n{out}");
    }
}

/// A listener bound to the wildcard: on zts by default, reached from node
/// B; on the kernel with ZTS_BIND_ANY=kernel, reached over loopback.
const WILDCARD_PY: &str = r#"
import socket, sys
s = socket.socket()
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(1)
print("ready", flush=True)
if sys.argv[1] == "0":
    c = socket.create_connection(("127.0.0.1", s.getsockname()[1]), timeout=20)
a, peer = s.accept()
print("accepted from", peer[0], flush=True)
"#;

#[test]
fn wildcard_binds_listen_on_zts_unless_zts_bind_any_is_kernel() {
    if skip_on_purpose("wildcard_binds_listen_on_zts_unless_zts_bind_any_is_kernel") {
        return;
    }
    need_tools(&["python3"]);
    let dir = Scratch::new("pl-wild");
    std::fs::write(dir.join("wild.py"), WILDCARD_PY).unwrap();
    std::fs::write(dir.join("echo.py"), ECHO_PY).unwrap();
    let out = in_namespace(
        &dir,
        r#"
$A python3 -u wild.py 9000 > wild.log 2>&1 &
wait_for wild.log ready
$B python3 -c 'import socket; socket.create_connection(("10.7.0.1", 9000), timeout=20)'
wait_for wild.log "accepted from"
echo "on zts: $(grep "^accepted from" wild.log)"
echo "on the kernel: $($B env ZTS_BIND_ANY=kernel python3 -u wild.py 0 | grep "^accepted from")"
"#,
    );
    assert!(out.contains("on zts: accepted from 10.7.0.2"), "{out}");
    assert!(
        out.contains("on the kernel: accepted from 127.0.0.1"),
        "{out}"
    );
}

//! Node and network events, delivered in order from one dedicated thread
//! to the handler the app set. Emitting only queues, so callers emit while
//! holding their own locks; the handler runs with no zts lock held and may
//! call any zts function.

use once_cell::sync::Lazy;
use parking_lot::{Condvar, Mutex};
use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::Arc;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    NodeUp = 1,
    NodeDown = 2,
    NetUp = 3,
    NetDown = 4,
    AddrAdded = 5,
    AddrRemoved = 6,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub kind: Kind,
    pub node: i32,
    /// -1 for node events.
    pub net: i32,
    pub addr: Option<IpAddr>,
}

pub type Handler = Arc<dyn Fn(&Event) + Send + Sync>;

#[derive(Default)]
struct State {
    queue: VecDeque<Event>,
    handler: Option<Handler>,
    thread: Option<std::thread::ThreadId>,
    /// A handler call is in progress.
    delivering: bool,
}

#[derive(Default)]
struct Hub {
    state: Mutex<State>,
    cond: Condvar,
}

static HUB: Lazy<Hub> = Lazy::new(Hub::default);

/// Queues an event for the handler; dropped when no handler is set.
pub fn emit(kind: Kind, node: i32, net: i32, addr: Option<IpAddr>) {
    let mut st = HUB.state.lock();
    if st.handler.is_none() {
        return;
    }
    st.queue.push_back(Event {
        kind,
        node,
        net,
        addr,
    });
    HUB.cond.notify_all();
}

/// Sets (or with None, clears) the handler; starts the delivery thread
/// the first time. On return the previous handler is not running and will
/// not be called again (unless this is called from inside it), so the app
/// may free what it used.
pub fn set_handler(handler: Option<Handler>) -> crate::error::Result<()> {
    let mut st = HUB.state.lock();
    if handler.is_none() {
        st.queue.clear();
    }
    st.handler = handler;
    if st.thread.is_none() && st.handler.is_some() {
        let t = std::thread::Builder::new()
            .name("zts-events".into())
            .spawn(deliver)
            .map_err(|_| crate::error::Errno::EAGAIN)?;
        st.thread = Some(t.thread().id());
    }
    if st.thread != Some(std::thread::current().id()) {
        while st.delivering {
            HUB.cond.wait(&mut st);
        }
    }
    Ok(())
}

fn deliver() {
    loop {
        let (ev, handler) = {
            let mut st = HUB.state.lock();
            loop {
                if let (Some(ev), Some(h)) = (st.queue.front(), st.handler.as_ref()) {
                    let h = h.clone();
                    let ev = ev.clone();
                    st.queue.pop_front();
                    st.delivering = true;
                    break (ev, h);
                }
                HUB.cond.wait(&mut st);
            }
        };
        // A panic in a Rust handler must not end delivery for good.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(&ev)));
        HUB.state.lock().delivering = false;
        HUB.cond.notify_all();
    }
}

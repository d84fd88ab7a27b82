//! Fault injection for the project's own tests (the `fault-injection`
//! feature, enabled only as a dev-dependency): a test arms a named point
//! on its thread and the next call that passes the point panics there,
//! deep inside the library with locks held, as a bug would.

#[cfg(feature = "fault-injection")]
thread_local! {
    static ARMED: std::cell::Cell<Option<&'static str>> = const { std::cell::Cell::new(None) };
}

/// Makes the next pass through `point(site)` on this thread panic.
#[cfg(feature = "fault-injection")]
pub fn arm(site: &'static str) {
    ARMED.with(|a| a.set(Some(site)));
}

/// A place a test may make panic. Compiles to nothing without the feature.
#[inline(always)]
pub fn point(_site: &'static str) {
    #[cfg(feature = "fault-injection")]
    if ARMED.with(|a| a.get()) == Some(_site) {
        ARMED.with(|a| a.set(None));
        panic!("fault injected at {_site}");
    }
}

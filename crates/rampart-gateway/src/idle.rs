//! Closing client connections that hold a slot while sending nothing.
//!
//! Every connection takes one of `limits.max_connections` slots, so a client
//! that connects and then stays silent is a slowloris that needs no bytes at
//! all. hyper's own header timeout does not cover every silent state: it
//! starts only once its HTTP/1-or-HTTP/2 detection has read the first bytes
//! (a client that sends nothing, or half the HTTP/2 preface, waits forever),
//! and HTTP/2 has no idle timeout at all (a client that sends its preface and
//! SETTINGS and never opens a stream keeps the connection forever).
//!
//! So the server watches each connection: an exchange is *in flight* from
//! the moment its head is handed to the pipeline until its response body has
//! been sent (the guard rides in the body), and a connection with nothing in
//! flight for the header timeout is dropped. Active exchanges, however long,
//! are never cut here; their own timeouts (body, upstream) bound them.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use http_body_util::BodyExt;
use tokio::time::Instant;

use crate::body::BoxBody;

/// What one connection is doing.
#[derive(Debug)]
pub(crate) struct Activity {
    born: Instant,
    in_flight: AtomicUsize,
    /// When the last exchange finished, in milliseconds after `born`.
    idle_since_ms: AtomicU64,
}

impl Activity {
    /// A connection that has just been accepted (idle from now).
    pub(crate) fn new() -> Arc<Activity> {
        Arc::new(Activity {
            born: Instant::now(),
            in_flight: AtomicUsize::new(0),
            idle_since_ms: AtomicU64::new(0),
        })
    }

    /// An exchange starts; it ends when the returned guard is dropped.
    pub(crate) fn start(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(self.clone())
    }

    /// When the connection becomes idle for `timeout`, if nothing is in flight.
    fn idle_deadline(&self, timeout: Duration) -> Option<Instant> {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let since = Duration::from_millis(self.idle_since_ms.load(Ordering::SeqCst));
        Some(self.born + since + timeout)
    }
}

/// An exchange in flight on a connection (see [`Activity::start`]).
#[derive(Debug)]
pub(crate) struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let a = &self.0;
        let now = u64::try_from(a.born.elapsed().as_millis()).unwrap_or(u64::MAX);
        a.idle_since_ms.store(now, Ordering::SeqCst);
        a.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// `body`, keeping `guard` (the exchange in flight) until it is dropped,
/// which hyper does once the body has been sent or the client went away.
pub(crate) fn hold(body: BoxBody, guard: InFlight) -> BoxBody {
    body.map_frame(move |frame| {
        let _in_flight = &guard;
        frame
    })
    .boxed()
}

/// Drive `conn` to completion, or drop it once nothing has been in flight
/// on it for `timeout`. Returns whether it was dropped as idle.
pub(crate) async fn close_when_idle(
    conn: std::pin::Pin<Box<dyn Future<Output = ()> + Send + '_>>,
    activity: Arc<Activity>,
    timeout: Duration,
) -> bool {
    let mut conn = conn;
    loop {
        let next_check = activity
            .idle_deadline(timeout)
            .unwrap_or_else(|| Instant::now() + timeout);
        tokio::select! {
            () = &mut conn => return false,
            () = tokio::time::sleep_until(next_check) => {
                if activity.idle_deadline(timeout).is_some_and(|d| d <= Instant::now()) {
                    return true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_idle_connection_is_dropped_and_a_busy_one_is_not() {
        let timeout = Duration::from_millis(20);
        let idle = Activity::new();
        let never = Box::pin(std::future::pending::<()>());
        assert!(close_when_idle(never, idle.clone(), timeout).await);
        assert!(idle.born.elapsed() >= timeout);

        // An exchange in flight for 10 timeouts keeps the connection; once
        // it ends, the connection is idle again.
        let busy = Activity::new();
        let guard = busy.start();
        let conn = Box::pin(async move {
            tokio::time::sleep(timeout * 10).await;
            drop(guard);
            std::future::pending::<()>().await;
        });
        assert!(close_when_idle(conn, busy.clone(), timeout).await);
        assert!(
            busy.born.elapsed() >= timeout * 11,
            "{:?}",
            busy.born.elapsed()
        );

        let done = Activity::new();
        assert!(!close_when_idle(Box::pin(async {}), done, timeout).await);
    }
}

//! Which reads may be answered by a read replica of the database (D1 read replication and its
//! Sessions API), and what is done when a replica does not have what was asked for.
//!
//! A replica applies the primary's writes some time after the primary did: it answers a read as
//! the primary did a moment ago. Each read is decided by what such an answer could do
//! (`docs/storage.md`, "Read replicas"):
//!
//! - a record that exists on the primary but not yet on the replica (a client registered a moment
//!   ago, a signing key another isolate just made) must not be answered "unknown": a miss on the
//!   replica is asked again of the primary ([`Freshness::read`]);
//! - a read whose stale answer could undo a security action (a session after logout, a client
//!   after it was disabled, a consent after it was withdrawn) reads the primary
//!   ([`Freshness::Latest`]): the action's bookmark cannot reach every request it is meant to stop
//!   (a stolen cookie, an agent's next token request);
//! - writes, and reads that decide a write of the same operation, stay on the primary.

use std::future::Future;

/// Where one read is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadFrom {
    /// Any copy of the database, a replica that lags the primary included (D1's
    /// `first-unconstrained` session).
    Replica,
    /// The primary: every write made before the read is seen (D1's `first-primary`, or the
    /// database without a session).
    Primary,
}

/// How current a read's answer must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// As current as the primary: the answer decides something a recent write may have taken
    /// away (a disabled client authenticating for tokens).
    Latest,
    /// An older state will do when one is found; a miss may only mean the replica has not yet
    /// seen the record, so it is no answer.
    MayLag,
}

impl Freshness {
    /// Runs `read` where this freshness allows: [`Freshness::Latest`] on the primary;
    /// [`Freshness::MayLag`] on a replica first and, if that finds nothing, on the primary, so
    /// that a record the replica has not seen yet is still found.
    pub async fn read<T, E, F, Fut>(self, read: F) -> Result<Option<T>, E>
    where
        F: Fn(ReadFrom) -> Fut,
        Fut: Future<Output = Result<Option<T>, E>>,
    {
        if self == Freshness::MayLag
            && let Some(found) = read(ReadFrom::Replica).await?
        {
            return Ok(Some(found));
        }
        read(ReadFrom::Primary).await
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::store::StoreError;

    /// A replica that has not seen the record the primary has, and the reads made.
    fn lagging(
        asked: &RefCell<Vec<ReadFrom>>,
        from: ReadFrom,
    ) -> impl Future<Output = Result<Option<&'static str>, StoreError>> {
        asked.borrow_mut().push(from);
        std::future::ready(Ok((from == ReadFrom::Primary).then_some("client")))
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        loop {
            if let std::task::Poll::Ready(out) = f.as_mut().poll(&mut cx) {
                return out;
            }
        }
    }

    #[test]
    fn a_miss_on_a_replica_is_asked_again_of_the_primary() {
        let asked = RefCell::new(Vec::new());
        let found = block_on(Freshness::MayLag.read(|from| lagging(&asked, from)));
        assert_eq!(found, Ok(Some("client")));
        assert_eq!(*asked.borrow(), [ReadFrom::Replica, ReadFrom::Primary]);
    }

    #[test]
    fn a_hit_on_a_replica_is_the_answer() {
        let asked = RefCell::new(Vec::new());
        let found = block_on(Freshness::MayLag.read(|from| {
            asked.borrow_mut().push(from);
            std::future::ready(Ok::<_, StoreError>(Some(from)))
        }));
        assert_eq!(found, Ok(Some(ReadFrom::Replica)));
        assert_eq!(*asked.borrow(), [ReadFrom::Replica]);
    }

    #[test]
    fn the_latest_state_is_read_on_the_primary_alone() {
        let asked = RefCell::new(Vec::new());
        let found = block_on(Freshness::Latest.read(|from| lagging(&asked, from)));
        assert_eq!(found, Ok(Some("client")));
        assert_eq!(*asked.borrow(), [ReadFrom::Primary]);
    }
}

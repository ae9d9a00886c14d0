//! The per-isolate caches' one rule for staying small. Each cache is a `HashMap` in a
//! `thread_local!` (an isolate runs on one thread), and each is bounded: a full cache starts
//! over rather than evicting entry by entry, because an isolate that has seen that many keys
//! gains little from any one of them, and clearing needs no bookkeeping per read.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::Hash;
use std::thread::LocalKey;

/// A per-isolate cache.
pub type Cache<K, V> = LocalKey<RefCell<HashMap<K, V>>>;

/// Inserts into `cache`, first emptying it if it holds `max` entries already.
pub fn insert<K: Eq + Hash, V>(cache: &'static Cache<K, V>, max: usize, key: K, value: V) {
    cache.with_borrow_mut(|entries| {
        if entries.len() >= max {
            entries.clear();
        }
        entries.insert(key, value);
    });
}

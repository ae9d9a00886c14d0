//! The records gatehouse stores.

pub mod audit;
pub mod queue;

//! Outbound requests: which URLs gatehouse may fetch on a client's or an operator's word.
pub mod address;

//! A request's or response's headers, read out of the runtime in one go.
//!
//! Forwarding must see every header name. Walking a `Headers` iterator from wasm costs seven
//! calls into JavaScript per header (a proxied request made ~180 such calls, counted with the
//! inspector probe of `tests/e2e/support/inspector.mjs`). Reading all headers as one string
//! (`Array.from(headers).flat().join("\n")`) costs four calls, and every lookup after that stays
//! in wasm. The runtime still walks its headers one by one inside `Array.from` (about 10 µs for
//! a request's, profiled), so a request that needs only a few headers asks for those by name
//! instead (`request::Incoming::header`).
//!
//! A newline cannot be part of a header: names are tokens, and a value never contains CR, LF or
//! NUL (Fetch Standard, "header value"; RFC 9110 §5.5), so it separates names from values.

use gatehouse_core::gatekeeper::assertion;
use wasm_bindgen::JsValue;
use worker::worker_sys::web_sys;

/// Headers as `name\nvalue\nname\nvalue…`, names lower-case as the runtime gives them.
pub struct HeaderList {
    text: String,
}

impl HeaderList {
    /// Reads every header of `headers`. Repeated names come combined (`, `) as `Headers` gives
    /// them, except `Set-Cookie`, which comes once per cookie (Fetch Standard, "sort and combine").
    pub fn read(headers: &web_sys::Headers) -> Self {
        let pairs = js_sys::Array::from(&JsValue::from(headers));
        Self::from_text(String::from(pairs.flat(1).join("\n")))
    }

    /// The list a joined text stands for.
    pub fn from_text(text: String) -> Self {
        Self { text }
    }

    /// The value of `name` (any case); the first one when the name repeats.
    pub fn get(&self, name: &str) -> Option<&str> {
        assertion::header_value(self.iter(), name)
    }

    /// Every `(name, value)` pair, collected: the form the core's header rules take
    /// (`gatekeeper::assertion::request_edits`).
    pub fn pairs(&self) -> Vec<(&str, &str)> {
        self.iter().collect()
    }

    /// Every `(name, value)` pair, in the runtime's order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut parts = self.text.split('\n');
        std::iter::from_fn(move || Some((parts.next()?, parts.next()?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_come_back_in_order_with_empty_values_kept() {
        let list = HeaderList::from_text(
            "accept\n*/*\nx-empty\n\nset-cookie\na=1\nset-cookie\nb=2".into(),
        );
        let pairs: Vec<_> = list.iter().collect();
        assert_eq!(
            pairs,
            [
                ("accept", "*/*"),
                ("x-empty", ""),
                ("set-cookie", "a=1"),
                ("set-cookie", "b=2")
            ]
        );
    }

    #[test]
    fn lookup_ignores_case_and_takes_the_first() {
        let list = HeaderList::from_text(
            "authorization\nBearer x\nset-cookie\na=1\nset-cookie\nb=2".into(),
        );
        assert_eq!(list.get("Authorization"), Some("Bearer x"));
        assert_eq!(list.get("SET-COOKIE"), Some("a=1"));
        assert_eq!(list.get("cookie"), None);
    }

    #[test]
    fn no_headers_is_an_empty_list() {
        let list = HeaderList::from_text(String::new());
        assert_eq!(list.iter().count(), 0);
        assert_eq!(list.get("accept"), None);
    }
}

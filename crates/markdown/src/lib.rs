//! Markdown for agents: HTML in, Markdown out, as a stream, in memory that does not grow with
//! the page.
//!
//! Three parts, so that the Markdown rules do not depend on where the HTML events come from:
//!
//! - [`MarkdownWriter`] is a pure state machine fed events (a start tag with the few attributes
//!   the Markdown uses, an end tag, a run of text). It keeps the stack of open elements and one
//!   table row, nothing else, and writes Markdown as the events arrive.
//! - [`Conversion`] wraps it with the limits below, charged as the parser's events arrive.
//! - A parser feeds it. In the Worker that is the Workers runtime's own `HTMLRewriter` (the
//!   Worker's `markdown` module, through the JavaScript binding), so the wasm carries no HTML
//!   parser. Natively, with the `lol_html` feature (on by default), [`Converter`] feeds it from
//!   `lol_html`, the streaming rewriter `HTMLRewriter` is built on: the same parser, reporting
//!   the same events, so the writer and the limits are tested and fuzzed natively
//!   (`fuzz/`) as the Worker runs them.
//!
//! Limits, each a [`Stop`]: the page is converted up to [`MAX_SOURCE_BYTES`]; the writer
//! nests at most [`MAX_NESTING_DEPTH`] elements and writes at most [`MAX_OUTPUT_BYTES`]. The
//! parser's own stack of open elements grows with every element whose end tag a page omits
//! (`lol_html` closes none implicitly) and each end tag walks it, so its depth is capped at
//! [`MAX_PARSER_DEPTH`] and its walks are charged against [`MAX_PARSE_WORK`]. Past any limit the
//! conversion stops: what was written stands, a last line says the rest was not converted, and
//! the caller may stop reading the page.
//!
//! Not here: deciding whether to convert and the response's headers
//! (`gatehouse_core::markdown`), decoding a `Content-Encoding` or a charset other than UTF-8,
//! and the HTTP plumbing.

mod conversion;
#[cfg(feature = "lol_html")]
mod lol;
mod writer;

pub use conversion::Conversion;
#[cfg(feature = "lol_html")]
pub use lol::{Converted, Converter, html_to_markdown};
pub use writer::{Attributes, MAX_NESTING_DEPTH, MAX_OUTPUT_BYTES, MarkdownWriter, Stop, TextKind};

/// The longest page converted, in bytes; the rest of a longer page is not.
pub const MAX_SOURCE_BYTES: usize = 1 << 20;

/// The deepest the parser's stack of open elements may grow. It counts elements whose end tags
/// the page omitted (`<p>`, `<li>`, `<td>`), which the writer has closed but the parser keeps.
pub const MAX_PARSER_DEPTH: usize = 4096;

/// The parser's work budget, in steps of its walks over its stack of open elements: each end
/// tag walks it from the top to the element it closes, or all of it when none matches. Charged
/// per slice of input: the walks to the elements closed, plus the deepest stack seen in the
/// slice for every other `</` in it. Measured natively, a walk costs about 5 ns a step: the
/// budget is about 0.2 s.
pub const MAX_PARSE_WORK: u64 = 1 << 25;

/// The page goes to the parser in slices of at most this many bytes, so the work is charged
/// often.
pub const SLICE_BYTES: usize = 1024;

/// The elements that never have content or an end tag, by lower-case name: HTML §13.1.2's
/// "void elements" and the obsolete ones parsed like them, as `lol_html` lists them. A parser
/// that does not say whether an element can have content (the runtime's `HTMLRewriter`) asks
/// this first.
#[must_use]
pub fn is_void_element(name: &str) -> bool {
    matches!(
        name,
        "area"
            | "base"
            | "basefont"
            | "bgsound"
            | "br"
            | "col"
            | "embed"
            | "hr"
            | "img"
            | "input"
            | "keygen"
            | "link"
            | "meta"
            | "param"
            | "source"
            | "track"
            | "wbr"
    )
}

/// An attribute's raw value with its character references decoded (HTML §13.2.5.36–38): both
/// parsers report attribute values as they appear in the page.
#[must_use]
pub fn decode_attribute(raw: &str) -> String {
    html_escape::decode_html_entities(raw).into_owned()
}

#[cfg(all(test, feature = "lol_html"))]
mod tests;

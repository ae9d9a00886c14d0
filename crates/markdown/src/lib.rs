//! Markdown for agents: HTML in, Markdown out, as a stream, in memory that does not grow with
//! the page.
//!
//! Two parts, so that the Markdown rules do not depend on where the HTML events come from:
//!
//! - [`MarkdownWriter`] is a pure state machine fed events (a start tag with the few attributes
//!   the Markdown uses, an end tag, a run of text). It keeps the stack of open elements and one
//!   table row, nothing else, and writes Markdown as the events arrive.
//! - [`Converter`] feeds it from `lol_html`, the streaming HTML rewriter the Workers runtime's
//!   `HTMLRewriter` is built on: bytes in, chunk by chunk, Markdown out.
//!
//! Why `lol_html` compiled into the Worker rather than the runtime's own `HTMLRewriter` through
//! the adapter, which would leave no HTML parser in the wasm: `HTMLRewriter` transforms a
//! `Response` into another HTML `Response` by calling JavaScript handlers per element and text
//! chunk; turning that into a Markdown body means a JavaScript callback into wasm for every
//! element and text chunk, the events collected on the side and the rewritten HTML thrown away,
//! and none of it runs in native tests or under a fuzzer. `lol_html` gives the same parser and
//! the same events, natively testable and fuzzed; in the wasm it costs about what the html5ever
//! it replaces did (`bench/README.md`, "Markdown converter: wasm size"). Should the size matter
//! more than that, the writer can be fed by `HTMLRewriter` instead: nothing in it names
//! `lol_html`.
//!
//! Limits, each a [`Stop`]: the page is converted up to [`MAX_SOURCE_BYTES`]; the writer
//! nests at most [`MAX_NESTING_DEPTH`] elements and writes at most [`MAX_OUTPUT_BYTES`]. The
//! parser's own stack of open elements grows with every element whose end tag a page omits
//! (`lol_html` closes none implicitly) and each end tag walks it, so its depth is capped at
//! [`MAX_PARSER_DEPTH`] and its walks are charged against [`MAX_PARSE_WORK`]. Past any limit the
//! conversion stops: what was written stands, a last line says the rest was not converted, and
//! the caller may stop reading the page.
//!
//! Not here: deciding whether to convert (`Accept`, `Content-Type`: `gatehouse_core::markdown`),
//! decoding a `Content-Encoding` or a charset other than UTF-8, and the HTTP plumbing.

mod writer;

use std::cell::RefCell;
use std::rc::Rc;

use lol_html::html_content::TextType;
use lol_html::{HtmlRewriter, MemorySettings, Settings, doc_text, element, end_tag};

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

/// The parser's memory limit (`lol_html`'s own accounting: its buffers and stack).
const MAX_PARSER_MEMORY_BYTES: usize = 2 << 20;

/// Input is fed to the parser in slices of this many bytes, so the work is charged often.
const SLICE_BYTES: usize = 1024;

/// The writer and a mirror of the parser's stack, shared with the parser's handlers.
#[derive(Debug, Default)]
struct Shared {
    writer: MarkdownWriter,
    /// The names of the elements open in the parser, as it keeps them (pushed on every start
    /// tag that can have content, popped down to the matching name on an end tag).
    parser_stack: Vec<String>,
    /// The deepest `parser_stack` since the last charge.
    deepest: usize,
    /// End tags the parser matched since the last charge, and the steps of its walks to them.
    matched: u64,
    walked: u64,
}

impl Shared {
    fn start(&mut self, name: String, has_content: bool, attributes: Attributes) {
        if has_content {
            if self.parser_stack.len() >= MAX_PARSER_DEPTH {
                self.writer.stop(Stop::TooDeep);
                return;
            }
            self.writer.start(&name, true, attributes);
            self.parser_stack.push(name);
            self.deepest = self.deepest.max(self.parser_stack.len());
        } else {
            self.writer.start(&name, false, attributes);
        }
    }

    fn end(&mut self, name: &str) {
        if let Some(index) = self.parser_stack.iter().rposition(|n| n == name) {
            self.matched += 1;
            self.walked += (self.parser_stack.len() - index) as u64;
            self.parser_stack.truncate(index);
        }
        self.writer.end(name);
    }
}

type Rewriter = HtmlRewriter<'static, fn(&[u8])>;

/// The rewritten HTML is not needed: only the events are.
fn discard(_: &[u8]) {}

/// HTML to Markdown, chunk by chunk. See the crate documentation.
pub struct Converter {
    shared: Rc<RefCell<Shared>>,
    rewriter: Option<Rewriter>,
    source_bytes: usize,
    work: u64,
    /// The last byte fed, for a `</` split between slices.
    last_byte: u8,
}

impl Default for Converter {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Converter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Converter")
            .field("source_bytes", &self.source_bytes)
            .field("work", &self.work)
            .field("stopped", &self.stopped())
            .finish_non_exhaustive()
    }
}

impl Converter {
    /// A converter at the start of a UTF-8 page.
    #[must_use]
    pub fn new() -> Self {
        let shared = Rc::new(RefCell::new(Shared::default()));
        let on_element = Rc::clone(&shared);
        let on_text = Rc::clone(&shared);
        let settings = Settings {
            element_content_handlers: vec![element!("*", move |el| {
                let name = el.tag_name();
                let attributes = match name.as_str() {
                    "a" => Attributes {
                        href: decoded_attribute(el, "href"),
                        title: decoded_attribute(el, "title"),
                        ..Attributes::default()
                    },
                    "img" => Attributes {
                        src: decoded_attribute(el, "src"),
                        alt: decoded_attribute(el, "alt"),
                        title: decoded_attribute(el, "title"),
                        ..Attributes::default()
                    },
                    "code" => Attributes {
                        class: decoded_attribute(el, "class"),
                        ..Attributes::default()
                    },
                    _ => Attributes::default(),
                };
                let has_content = el.can_have_content();
                let mut shared = on_element.borrow_mut();
                shared.start(name.clone(), has_content, attributes);
                if shared.writer.stopped().is_some() {
                    return Err("stopped".into());
                }
                drop(shared);
                if has_content {
                    let on_end = Rc::clone(&on_element);
                    el.on_end_tag(end_tag!(move |_| {
                        let mut shared = on_end.borrow_mut();
                        shared.end(&name);
                        if shared.writer.stopped().is_some() {
                            return Err("stopped".into());
                        }
                        Ok(())
                    }))?;
                }
                Ok(())
            })],
            document_content_handlers: vec![doc_text!(move |chunk| {
                let kind = match chunk.text_type() {
                    TextType::Data | TextType::RCData => TextKind::Data,
                    _ => TextKind::Raw,
                };
                let mut shared = on_text.borrow_mut();
                shared
                    .writer
                    .text(chunk.as_str(), kind, chunk.last_in_text_node());
                if shared.writer.stopped().is_some() {
                    return Err("stopped".into());
                }
                Ok(())
            })],
            memory_settings: MemorySettings {
                max_allowed_memory_usage: MAX_PARSER_MEMORY_BYTES,
                ..MemorySettings::new()
            },
            ..Settings::new()
        };
        Self {
            shared,
            rewriter: Some(HtmlRewriter::new(settings, discard as fn(&[u8]))),
            source_bytes: 0,
            work: 0,
            last_byte: 0,
        }
    }

    /// Feeds the next bytes of the page; returns the Markdown they completed (possibly none).
    /// After a [`Stop`], the input is ignored.
    pub fn write(&mut self, chunk: &[u8]) -> String {
        let mut rest = chunk;
        while !rest.is_empty() && self.stopped().is_none() {
            let room = MAX_SOURCE_BYTES.saturating_sub(self.source_bytes);
            if room == 0 {
                self.stop(Stop::TooLarge);
                break;
            }
            let Some((slice, tail)) = rest.split_at_checked(rest.len().min(SLICE_BYTES).min(room))
            else {
                break;
            };
            self.feed(slice);
            self.source_bytes += slice.len();
            rest = tail;
        }
        self.shared.borrow_mut().writer.take()
    }

    /// Ends the page: returns the rest of the Markdown, which always ends with a line break.
    pub fn finish(&mut self) -> String {
        if self.stopped().is_none()
            && let Some(rewriter) = self.rewriter.take()
            && rewriter.end().is_err()
            && self.stopped().is_none()
        {
            self.stop(Stop::TooCostly);
        }
        self.rewriter = None;
        let mut shared = self.shared.borrow_mut();
        shared.writer.finish();
        shared.writer.take()
    }

    /// Why the conversion stopped before the end of the page, if it did.
    #[must_use]
    pub fn stopped(&self) -> Option<Stop> {
        self.shared.borrow().writer.stopped()
    }

    fn feed(&mut self, slice: &[u8]) {
        let Some(rewriter) = self.rewriter.as_mut() else {
            return;
        };
        if rewriter.write(slice).is_err() {
            // A handler's error is a writer's stop; any other is the parser's memory limit.
            self.rewriter = None;
            if self.stopped().is_none() {
                self.stop(Stop::TooCostly);
            }
            return;
        }
        // `</` split by the slice boundary is counted too.
        let mut end_tags = u64::from(self.last_byte == b'<' && slice.first() == Some(&b'/'));
        end_tags += slice.windows(2).filter(|w| w == b"</").count() as u64;
        self.last_byte = slice.last().copied().unwrap_or(self.last_byte);
        let (deepest, matched, walked) = {
            let mut shared = self.shared.borrow_mut();
            let charge = (shared.deepest, shared.matched, shared.walked);
            shared.deepest = shared.parser_stack.len();
            shared.matched = 0;
            shared.walked = 0;
            charge
        };
        let unmatched = end_tags.saturating_sub(matched);
        self.work = self
            .work
            .saturating_add(walked)
            .saturating_add(unmatched.saturating_mul(deepest as u64));
        if self.work > MAX_PARSE_WORK {
            self.stop(Stop::TooCostly);
        }
    }

    fn stop(&mut self, why: Stop) {
        self.rewriter = None;
        self.shared.borrow_mut().writer.stop(why);
    }
}

/// A whole page converted at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Converted {
    /// The Markdown.
    pub markdown: String,
    /// Why it stopped before the end of the page, if it did.
    pub stopped: Option<Stop>,
}

/// Converts a whole page; the same as one [`Converter::write`] and [`Converter::finish`].
#[must_use]
pub fn html_to_markdown(html: &str) -> Converted {
    let mut converter = Converter::new();
    let mut markdown = converter.write(html.as_bytes());
    markdown.push_str(&converter.finish());
    Converted {
        markdown,
        stopped: converter.stopped(),
    }
}

/// An attribute's value with its character references decoded (HTML §13.2.5.36–38).
fn decoded_attribute(el: &lol_html::html_content::Element<'_, '_>, name: &str) -> Option<String> {
    el.get_attribute(name)
        .map(|v| html_escape::decode_html_entities(&v).into_owned())
}

#[cfg(test)]
mod tests;

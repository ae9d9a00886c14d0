//! One conversion, whatever parser feeds it: the writer, a mirror of the parser's stack of open
//! elements, and the limits of the crate documentation, charged as the events arrive.
//!
//! The parser is either `lol_html` in this crate ([`crate::Converter`], native tests and the
//! fuzz target) or the Workers runtime's `HTMLRewriter`, which is `lol_html` too, fed by the
//! Worker through its JavaScript binding. Both call the same methods in the same order:
//! [`Conversion::next_slice`] for the bytes about to be parsed, the events the parser reports
//! for them ([`Conversion::start_tag`], [`Conversion::end_tag`], [`Conversion::text`]), then
//! [`Conversion::charge`] once the parser has consumed them, so both stop at the same limits.

use std::collections::VecDeque;

use crate::writer::{Attributes, MarkdownWriter, Stop, TextKind};
use crate::{MAX_PARSE_WORK, MAX_PARSER_DEPTH, MAX_SOURCE_BYTES, SLICE_BYTES};

/// HTML to Markdown from parser events. See the module documentation.
#[derive(Debug, Default)]
pub struct Conversion {
    writer: MarkdownWriter,
    /// The names of the elements open in the parser, as it keeps them (pushed on every start
    /// tag that can have content, popped down to the matching name on an end tag).
    parser_stack: Vec<String>,
    /// The deepest `parser_stack` since the last charge.
    deepest: usize,
    /// End tags the parser matched and not yet set against a `</` charged, and the steps of
    /// its walks to them since the last charge.
    matched: u64,
    walked: u64,
    /// Slices handed out and not yet charged: where each ends in the page, and its `</`.
    uncharged: VecDeque<(usize, u64)>,
    source_bytes: usize,
    work: u64,
    /// The last byte handed out, for a `</` split between slices.
    last_byte: u8,
}

impl Conversion {
    /// A conversion at the start of a page.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Splits off the next bytes of `rest` for the parser: at most [`SLICE_BYTES`], and none
    /// past [`MAX_SOURCE_BYTES`] of the page. `None` once the conversion stopped or `rest` is
    /// empty; reaching the source limit with bytes left stops it ([`Stop::TooLarge`]).
    pub fn next_slice<'a>(&mut self, rest: &'a [u8]) -> Option<(&'a [u8], &'a [u8])> {
        if rest.is_empty() || self.stopped().is_some() {
            return None;
        }
        let room = MAX_SOURCE_BYTES.saturating_sub(self.source_bytes);
        if room == 0 {
            self.stop(Stop::TooLarge);
            return None;
        }
        let (slice, tail) = rest.split_at_checked(rest.len().min(SLICE_BYTES).min(room))?;
        self.source_bytes += slice.len();
        // `</` split by the slice boundary is counted too.
        let split = u64::from(self.last_byte == b'<' && slice.first() == Some(&b'/'));
        let end_tags = split + slice.windows(2).filter(|w| w == b"</").count() as u64;
        self.uncharged.push_back((self.source_bytes, end_tags));
        self.last_byte = slice.last().copied().unwrap_or(self.last_byte);
        Some((slice, tail))
    }

    /// Charges the parser's work on the slices it has consumed: `parsed` is how many bytes of
    /// the page it has consumed so far (a parser may take slices ahead of its events). The
    /// charge is the walks to the elements its end tags closed, plus the deepest stack seen for
    /// every other `</`. Past [`MAX_PARSE_WORK`] the conversion stops ([`Stop::TooCostly`]).
    pub fn charge(&mut self, parsed: usize) {
        let mut end_tags: u64 = 0;
        while let Some(&(end, tags)) = self.uncharged.front() {
            if end > parsed {
                break;
            }
            end_tags = end_tags.saturating_add(tags);
            self.uncharged.pop_front();
        }
        let matched = end_tags.min(self.matched);
        self.matched -= matched;
        let unmatched = end_tags - matched;
        self.work = self
            .work
            .saturating_add(self.walked)
            .saturating_add(unmatched.saturating_mul(self.deepest as u64));
        self.deepest = self.parser_stack.len();
        self.walked = 0;
        if self.work > MAX_PARSE_WORK {
            self.stop(Stop::TooCostly);
        }
    }

    /// The bytes of the page handed out to the parser so far.
    #[must_use]
    pub fn source_bytes(&self) -> usize {
        self.source_bytes
    }

    /// A start tag, by its lower-case name; `has_content` is false for a void or self-closing
    /// element, which gets no end tag. `Err` once the conversion stopped: the parser may stop.
    pub fn start_tag(
        &mut self,
        name: String,
        has_content: bool,
        attributes: Attributes,
    ) -> Result<(), Stop> {
        self.running()?;
        if has_content {
            if self.parser_stack.len() >= MAX_PARSER_DEPTH {
                self.writer.stop(Stop::TooDeep);
                return self.running();
            }
            self.writer.start(&name, true, attributes);
            self.parser_stack.push(name);
            self.deepest = self.deepest.max(self.parser_stack.len());
        } else {
            self.writer.start(&name, false, attributes);
        }
        self.running()
    }

    /// An end tag the parser matched to an open element, by its lower-case name.
    pub fn end_tag(&mut self, name: &str) -> Result<(), Stop> {
        self.running()?;
        if let Some(index) = self.parser_stack.iter().rposition(|n| n == name) {
            self.matched += 1;
            self.walked += (self.parser_stack.len() - index) as u64;
            self.parser_stack.truncate(index);
        }
        self.writer.end(name);
        self.running()
    }

    /// A run of text, raw (not yet decoded); `last` is true for the last run of a text node.
    /// Whether it carries character references follows from the element it is in (HTML
    /// §13.2.5: only `<xmp>` and `<plaintext>` of the elements whose content is written switch
    /// the tokenizer to raw text; the others that do are dropped with their content).
    pub fn text(&mut self, text: &str, last: bool) -> Result<(), Stop> {
        self.running()?;
        let kind = match self.parser_stack.last().map(String::as_str) {
            Some("xmp" | "plaintext") => TextKind::Raw,
            _ => TextKind::Data,
        };
        self.writer.text(text, kind, last);
        self.running()
    }

    /// The Markdown written since the last call.
    pub fn take(&mut self) -> String {
        self.writer.take()
    }

    /// Ends the page: returns the rest of the Markdown, which always ends with a line break.
    pub fn finish(&mut self) -> String {
        self.writer.finish();
        self.writer.take()
    }

    /// Why the conversion stopped before the end of the page, if it did.
    #[must_use]
    pub fn stopped(&self) -> Option<Stop> {
        self.writer.stopped()
    }

    /// Stops converting: the rest of the page is ignored and a last line says why.
    pub fn stop(&mut self, why: Stop) {
        self.writer.stop(why);
    }

    fn running(&self) -> Result<(), Stop> {
        match self.stopped() {
            Some(why) => Err(why),
            None => Ok(()),
        }
    }
}

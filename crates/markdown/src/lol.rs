//! [`Conversion`] fed by `lol_html` in this crate: what native tests and the fuzz target drive.
//! The Worker feeds the same [`Conversion`] from the runtime's `HTMLRewriter` instead.

use std::cell::RefCell;
use std::rc::Rc;

use lol_html::{HtmlRewriter, MemorySettings, Settings, doc_text, element, end_tag};

use crate::{Attributes, Conversion, Stop, decode_attribute};

/// The parser's memory limit (`lol_html`'s own accounting: its buffers and stack).
const MAX_PARSER_MEMORY_BYTES: usize = 2 << 20;

type Rewriter = HtmlRewriter<'static, fn(&[u8])>;

/// The rewritten HTML is not needed: only the events are.
fn discard(_: &[u8]) {}

/// A handler's answer to `lol_html`: an error stops the parser.
fn handled(result: Result<(), Stop>) -> lol_html::HandlerResult {
    result.map_err(|why| why.as_str().into())
}

/// HTML to Markdown, chunk by chunk, on `lol_html`. See the crate documentation.
pub struct Converter {
    conversion: Rc<RefCell<Conversion>>,
    rewriter: Option<Rewriter>,
}

impl Default for Converter {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Converter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Converter")
            .field("conversion", &self.conversion)
            .finish_non_exhaustive()
    }
}

impl Converter {
    /// A converter at the start of a UTF-8 page.
    #[must_use]
    pub fn new() -> Self {
        let conversion = Rc::new(RefCell::new(Conversion::new()));
        let on_element = Rc::clone(&conversion);
        let on_text = Rc::clone(&conversion);
        let settings = Settings {
            element_content_handlers: vec![element!("*", move |el| {
                let name = el.tag_name();
                let attribute = |name: &str| el.get_attribute(name).map(|v| decode_attribute(&v));
                let attributes = match name.as_str() {
                    "a" => Attributes {
                        href: attribute("href"),
                        title: attribute("title"),
                        ..Attributes::default()
                    },
                    "img" => Attributes {
                        src: attribute("src"),
                        alt: attribute("alt"),
                        title: attribute("title"),
                        ..Attributes::default()
                    },
                    "code" => Attributes {
                        class: attribute("class"),
                        ..Attributes::default()
                    },
                    _ => Attributes::default(),
                };
                let has_content = el.can_have_content();
                handled(
                    on_element
                        .borrow_mut()
                        .start_tag(name.clone(), has_content, attributes),
                )?;
                if has_content {
                    let on_end = Rc::clone(&on_element);
                    el.on_end_tag(end_tag!(move |_| {
                        handled(on_end.borrow_mut().end_tag(&name))
                    }))?;
                }
                Ok(())
            })],
            document_content_handlers: vec![doc_text!(move |chunk| {
                handled(
                    on_text
                        .borrow_mut()
                        .text(chunk.as_str(), chunk.last_in_text_node()),
                )
            })],
            memory_settings: MemorySettings {
                max_allowed_memory_usage: MAX_PARSER_MEMORY_BYTES,
                ..MemorySettings::new()
            },
            ..Settings::new()
        };
        Self {
            conversion,
            rewriter: Some(HtmlRewriter::new(settings, discard as fn(&[u8]))),
        }
    }

    /// Feeds the next bytes of the page; returns the Markdown they completed (possibly none).
    /// After a [`Stop`], the input is ignored.
    pub fn write(&mut self, chunk: &[u8]) -> String {
        let mut rest = chunk;
        loop {
            let next = self.conversion.borrow_mut().next_slice(rest);
            let Some((slice, tail)) = next else {
                break;
            };
            self.feed(slice);
            rest = tail;
        }
        if self.stopped().is_some() {
            self.rewriter = None;
        }
        self.conversion.borrow_mut().take()
    }

    /// Ends the page: returns the rest of the Markdown, which always ends with a line break.
    pub fn finish(&mut self) -> String {
        if self.stopped().is_none()
            && let Some(rewriter) = self.rewriter.take()
            && rewriter.end().is_err()
            && self.stopped().is_none()
        {
            self.conversion.borrow_mut().stop(Stop::TooCostly);
        }
        self.rewriter = None;
        self.conversion.borrow_mut().finish()
    }

    /// Why the conversion stopped before the end of the page, if it did.
    #[must_use]
    pub fn stopped(&self) -> Option<Stop> {
        self.conversion.borrow().stopped()
    }

    fn feed(&mut self, slice: &[u8]) {
        let Some(rewriter) = self.rewriter.as_mut() else {
            return;
        };
        let written = rewriter.write(slice);
        let mut conversion = self.conversion.borrow_mut();
        if written.is_err() {
            // A handler's error is a stop; any other is the parser's memory limit.
            self.rewriter = None;
            if conversion.stopped().is_none() {
                conversion.stop(Stop::TooCostly);
            }
            return;
        }
        let parsed = conversion.source_bytes();
        conversion.charge(parsed);
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

//! The Markdown writer: a state machine fed HTML events (a start tag with the few attributes the
//! Markdown uses, an end tag, a run of text) that writes CommonMark as the events arrive.
//!
//! It holds no document, only the stack of open elements (at most [`MAX_NESTING_DEPTH`]), the
//! table row being written and the Markdown not yet taken by the caller, so its memory does not
//! grow with the page. It closes the end tags a page omits (`<p>`, `<li>`, `<dt>`/`<dd>`, table
//! cells and rows, headings, nested `<a>`) with the common cases of HTML §13.2.6.4.7 ("in body"),
//! not the whole tree-construction algorithm: a misnested page may come out shaped differently
//! from a browser's DOM, never deeper than counted.

use std::borrow::Cow;
use std::fmt::Write as _;

/// The deepest nesting of elements converted. Markdown repeats every enclosing block quote and
/// list indentation on each line, so depth multiplies the output; browsers stop nesting at 512
/// (Chromium's `kMaximumHTMLParserDOMTreeDepth`) and real pages rarely pass 40.
pub const MAX_NESTING_DEPTH: usize = 256;

/// The largest Markdown written for one page, in bytes. A few KB of nested `<blockquote>`
/// around many lines can otherwise become hundreds of MB of `> > > …`.
pub const MAX_OUTPUT_BYTES: usize = 8 << 20;

/// Why a conversion stopped before the end of the page. The Markdown written up to that point
/// stands, followed by a line saying the rest was not converted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The page is longer than [`crate::MAX_SOURCE_BYTES`].
    TooLarge,
    /// Elements nest deeper than [`MAX_NESTING_DEPTH`], or the parser's stack of open elements
    /// is deeper than [`crate::MAX_PARSER_DEPTH`].
    TooDeep,
    /// The parser would spend more than its work budget or its memory limit.
    TooCostly,
    /// The Markdown would be larger than [`MAX_OUTPUT_BYTES`].
    OutputTooLarge,
}

impl Stop {
    /// A short, stable name for logs and for the closing line of a stopped conversion.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TooLarge => "too_large",
            Self::TooDeep => "too_deep",
            Self::TooCostly => "too_costly",
            Self::OutputTooLarge => "output_too_large",
        }
    }
}

/// The attributes of a start tag the Markdown uses, with character references decoded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attributes {
    /// `<a href>`.
    pub href: Option<String>,
    /// `<img src>`.
    pub src: Option<String>,
    /// `<img alt>`.
    pub alt: Option<String>,
    /// `<a title>`, `<img title>`.
    pub title: Option<String>,
    /// `<code class>`, for the `language-*` of a fenced code block.
    pub class: Option<String>,
}

/// How a run of text was tokenized (HTML §13.2.5): only data and RCDATA carry character
/// references.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextKind {
    /// Ordinary text, or RCDATA (`<title>`, `<textarea>`): character references are decoded.
    Data,
    /// Raw text, script data or `<plaintext>`: written as it is.
    Raw,
}

/// What an element becomes.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    /// Not written; its content is (`<span>`, `<html>`, unknown elements).
    Inline,
    /// A block with a blank line before and after (`<p>`, `<div>`, …).
    Block,
    /// `<h1>`…`<h6>`: its marker is pending in `inline_open` until text arrives.
    Heading { marker: Marker },
    /// `<ul>`, `<ol>`, `<menu>`.
    List { ordered: bool, next: u32 },
    /// `<li>`: its marker is written on its first line, spaces of the same width on the others.
    Item { marker: String, written: bool },
    /// `<blockquote>`: `> ` on every line once it has content (a blank line before its first
    /// line belongs to the enclosing block).
    Quote { started: bool },
    /// `<pre>`, `<listing>`, `<xmp>`, `<plaintext>`: a fenced code block.
    Pre {
        language: String,
        fence_open: bool,
        fresh: bool,
    },
    /// Emphasis, strong emphasis, strike-through, inline code: a marker on each side.
    Span { open: Marker, close: &'static str },
    /// `<a href>`: `[text](href "title")`.
    Link {
        open: Marker,
        href: String,
        title: Option<String>,
    },
    /// The outermost `<table>`: rows of `| cell |`, a delimiter row after the first.
    Table { rows: u32 },
    /// A `<table>` inside a table cell: its cells are run together in the outer cell.
    InnerTable,
    /// `<tr>` of the outermost table.
    Row,
    /// `<td>`, `<th>` of the outermost table.
    Cell,
    /// Neither it nor its content is written (`<script>`, `<svg>`, `<head>`, …).
    Drop,
}

/// A marker written lazily: where it sits in `inline_open`, and in which flush generation, so
/// an element with no text leaves no `****` behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Marker {
    at: usize,
    generation: u64,
}

#[derive(Clone, Debug)]
struct Frame {
    name: String,
    kind: Kind,
}

/// What separates the next content from what was written: nothing, a line break, a blank line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Separator {
    None,
    Line,
    Blank,
}

/// Turns HTML events into Markdown. See the module documentation.
#[derive(Debug)]
pub struct MarkdownWriter {
    stack: Vec<Frame>,
    out: String,
    total: usize,
    written_any: bool,
    at_line_start: bool,
    separator: Separator,
    pending_space: bool,
    inline_open: String,
    generation: u64,
    drop_depth: usize,
    pre_depth: usize,
    row: Vec<String>,
    cell: Option<String>,
    carry: String,
    stopped: Option<Stop>,
}

impl Default for MarkdownWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl MarkdownWriter {
    /// A writer at the start of a page.
    #[must_use]
    pub fn new() -> Self {
        Self {
            stack: Vec::new(),
            out: String::new(),
            total: 0,
            written_any: false,
            at_line_start: true,
            separator: Separator::None,
            pending_space: false,
            inline_open: String::new(),
            generation: 0,
            drop_depth: 0,
            pre_depth: 0,
            row: Vec::new(),
            cell: None,
            carry: String::new(),
            stopped: None,
        }
    }

    /// Why the conversion stopped, if it did.
    #[must_use]
    pub fn stopped(&self) -> Option<Stop> {
        self.stopped
    }

    /// The Markdown written since the last call.
    pub fn take(&mut self) -> String {
        std::mem::take(&mut self.out)
    }

    /// A start tag, by its lower-case name. `has_content` is false for a void element (or a
    /// self-closing foreign one), which gets no end tag.
    pub fn start(&mut self, name: &str, has_content: bool, attributes: Attributes) {
        if self.stopped.is_some() {
            return;
        }
        if self.drop_depth > 0 {
            if has_content {
                self.push(name, Kind::Drop);
            }
            return;
        }
        self.close_omitted(name);
        if !has_content {
            self.void(name, attributes);
            return;
        }
        if name == "code" && self.pre_depth > 0 {
            self.name_language(&attributes);
        }
        let kind = self.kind_of(name, attributes);
        self.open(&kind);
        self.push(name, kind);
    }

    /// An end tag, by its lower-case name. One that matches no open element is ignored.
    pub fn end(&mut self, name: &str) {
        if self.stopped.is_some() {
            return;
        }
        let list_scoped = matches!(name, "li" | "dd" | "dt");
        let table_part = matches!(
            name,
            "table" | "tr" | "td" | "th" | "thead" | "tbody" | "tfoot" | "caption"
        );
        let mut found = None;
        for (index, frame) in self.stack.iter().enumerate().rev() {
            if frame.name == name {
                found = Some(index);
                break;
            }
            let boundary = match frame.kind {
                Kind::Table { .. } | Kind::InnerTable => true,
                Kind::Cell | Kind::Row => !table_part,
                Kind::List { .. } => list_scoped,
                _ => false,
            };
            if boundary {
                break;
            }
        }
        if let Some(index) = found {
            self.pop_to(index);
        }
    }

    /// A run of text. `last` is true for the last run of a text node: a character reference
    /// cut by a chunk boundary waits for the rest of it until then.
    pub fn text(&mut self, text: &str, kind: TextKind, last: bool) {
        if self.stopped.is_some() || self.drop_depth > 0 {
            self.carry.clear();
            return;
        }
        let decoded: Cow<'_, str> = match kind {
            TextKind::Raw => Cow::Borrowed(text),
            TextKind::Data => {
                let mut joined = std::mem::take(&mut self.carry);
                joined.push_str(text);
                if !last {
                    // A reference is at most 32 bytes (`&CounterClockwiseContourIntegral;`).
                    if let Some(amp) = joined.rfind('&') {
                        let tail = joined.get(amp..).unwrap_or_default();
                        if tail.len() < 40 && !tail.contains([';', ' ', '<']) {
                            self.carry = tail.to_owned();
                            joined.truncate(amp);
                        }
                    }
                }
                Cow::Owned(html_escape::decode_html_entities(&joined).into_owned())
            }
        };
        if self.pre_depth > 0 {
            self.pre_text(&decoded);
        } else {
            self.flow_text(&decoded);
        }
    }

    /// The end of the page: closes every open element and ends the Markdown with a line break.
    pub fn finish(&mut self) {
        if self.stopped.is_none() {
            self.carry_out();
            self.pop_to(0);
        }
        if !self.out.ends_with('\n') {
            self.put("\n");
        }
    }

    /// Stops converting: the rest of the page is ignored and a last line says why.
    pub fn stop(&mut self, why: Stop) {
        if self.stopped.is_some() {
            return;
        }
        if let Some(Frame {
            kind: Kind::Pre {
                fence_open: true, ..
            },
            ..
        }) = self
            .stack
            .iter()
            .rev()
            .find(|f| matches!(f.kind, Kind::Pre { .. }))
        {
            self.out.push_str("\n```");
        }
        self.stopped = Some(why);
        self.cell = None;
        let _ = write!(
            self.out,
            "\n\n---\n\n*gatehouse stopped converting this page here ({}); the rest is in its HTML.*\n",
            why.as_str()
        );
    }

    fn carry_out(&mut self) {
        if !self.carry.is_empty() {
            let rest = std::mem::take(&mut self.carry);
            self.text(&rest, TextKind::Data, true);
        }
    }

    fn kind_of(&mut self, name: &str, attributes: Attributes) -> Kind {
        if self.pre_depth > 0 {
            // Inside a code block only text counts; a `<code class=language-x>` names it.
            return Kind::Inline;
        }
        match name {
            "script" | "style" | "noscript" | "template" | "iframe" | "svg" | "math" | "head"
            | "title" | "select" | "textarea" | "button" | "option" | "datalist" | "object"
            | "canvas" | "audio" | "video" | "noembed" | "noframes" => Kind::Drop,
            "p" | "div" | "section" | "article" | "main" | "header" | "footer" | "nav"
            | "aside" | "address" | "figure" | "figcaption" | "details" | "summary"
            | "fieldset" | "form" | "center" | "dl" | "dt" | "dd" | "hgroup" | "search"
            | "legend" | "caption" => Kind::Block,
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => Kind::Heading {
                marker: self.marker(),
            },
            "ul" | "menu" => Kind::List {
                ordered: false,
                next: 1,
            },
            "ol" => Kind::List {
                ordered: true,
                next: 1,
            },
            "li" => Kind::Item {
                marker: self.next_item_marker(),
                written: false,
            },
            "blockquote" => Kind::Quote { started: false },
            "pre" | "listing" | "xmp" | "plaintext" => Kind::Pre {
                language: String::new(),
                fence_open: false,
                fresh: true,
            },
            "strong" | "b" => self.span("**"),
            "em" | "i" | "cite" | "dfn" | "var" => self.span("*"),
            "del" | "s" | "strike" => self.span("~~"),
            "code" | "kbd" | "samp" | "tt" => self.span("`"),
            "a" => match attributes.href {
                Some(href) => Kind::Link {
                    open: self.marker(),
                    href,
                    title: attributes.title,
                },
                None => Kind::Inline,
            },
            "table" => {
                if self.in_table() {
                    Kind::InnerTable
                } else {
                    Kind::Table { rows: 0 }
                }
            }
            "tr" if self.in_outer_table() => Kind::Row,
            "td" | "th" if self.in_outer_table() => Kind::Cell,
            _ => Kind::Inline,
        }
    }

    /// The `language-*` of a `<code>` directly in a code block that has no text yet.
    fn name_language(&mut self, attributes: &Attributes) {
        let Some(class) = &attributes.class else {
            return;
        };
        let Some(language) = class.split_ascii_whitespace().find_map(|c| {
            c.strip_prefix("language-")
                .or_else(|| c.strip_prefix("lang-"))
        }) else {
            return;
        };
        let language: String = language
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '_' | '.' | '#'))
            .take(32)
            .collect();
        if let Some(Frame {
            kind:
                Kind::Pre {
                    language: slot,
                    fence_open: false,
                    ..
                },
            ..
        }) = self
            .stack
            .iter_mut()
            .rev()
            .find(|f| matches!(f.kind, Kind::Pre { .. }))
        {
            *slot = language;
        }
    }

    fn span(&self, marker: &'static str) -> Kind {
        Kind::Span {
            open: self.marker(),
            close: marker,
        }
    }

    /// The position of a marker about to be pushed onto the pending ones (`push` pushes it).
    fn marker(&self) -> Marker {
        Marker {
            at: self.inline_open.len(),
            generation: self.generation,
        }
    }

    fn next_item_marker(&mut self) -> String {
        for frame in self.stack.iter_mut().rev() {
            match &mut frame.kind {
                Kind::List {
                    ordered: true,
                    next,
                } => {
                    let marker = format!("{next}. ");
                    *next = next.saturating_add(1);
                    return marker;
                }
                Kind::List { ordered: false, .. } => return "- ".to_owned(),
                Kind::Table { .. } | Kind::Cell | Kind::Quote { .. } => break,
                _ => {}
            }
        }
        "- ".to_owned()
    }

    fn in_table(&self) -> bool {
        self.stack
            .iter()
            .any(|f| matches!(f.kind, Kind::Table { .. } | Kind::InnerTable))
    }

    /// Whether the innermost table open is the outermost one (whose cells are written).
    fn in_outer_table(&self) -> bool {
        for frame in self.stack.iter().rev() {
            match frame.kind {
                Kind::Table { .. } => return true,
                Kind::InnerTable | Kind::Cell => return false,
                _ => {}
            }
        }
        false
    }

    /// What an element does when it opens.
    fn open(&mut self, kind: &Kind) {
        match kind {
            Kind::Block | Kind::Quote { .. } | Kind::Pre { .. } | Kind::Table { .. } => {
                self.separate(Separator::Blank);
            }
            Kind::List { .. } => {
                let nested = self
                    .stack
                    .iter()
                    .any(|f| matches!(f.kind, Kind::Item { .. }));
                self.separate(if nested {
                    Separator::Line
                } else {
                    Separator::Blank
                });
            }
            Kind::Item { .. } | Kind::Row => self.separate(Separator::Line),
            Kind::Heading { .. } => self.separate(Separator::Blank),
            Kind::Cell => {
                self.cell = Some(String::new());
                self.pending_space = false;
            }
            Kind::InnerTable => self.pending_space = true,
            Kind::Drop => self.drop_depth += 1,
            Kind::Span { .. } | Kind::Link { .. } | Kind::Inline => {}
        }
    }

    fn push(&mut self, name: &str, kind: Kind) {
        if self.stack.len() >= MAX_NESTING_DEPTH {
            self.stop(Stop::TooDeep);
            return;
        }
        match &kind {
            Kind::Heading { .. } => {
                let level = name.get(1..).and_then(|l| l.parse().ok()).unwrap_or(1);
                self.inline_open.push_str(&"#".repeat(level));
                self.inline_open.push(' ');
            }
            Kind::Span { close, .. } => self.inline_open.push_str(close),
            Kind::Link { .. } => self.inline_open.push('['),
            Kind::Pre { .. } => self.pre_depth += 1,
            _ => {}
        }
        self.stack.push(Frame {
            name: name.to_owned(),
            kind,
        });
    }

    /// Void elements: images, line breaks, thematic breaks; the rest write nothing.
    fn void(&mut self, name: &str, attributes: Attributes) {
        if name == "code" || name == "pre" {
            return;
        }
        match name {
            "img" => {
                let Some(src) = attributes.src.filter(|s| !s.is_empty()) else {
                    return;
                };
                let alt = attributes.alt.unwrap_or_default();
                self.content();
                let mut image = String::from("![");
                push_label(&mut image, &alt);
                image.push_str("](");
                push_destination(&mut image, &src);
                push_title(&mut image, attributes.title.as_deref());
                image.push(')');
                self.put(&image);
            }
            "br" if self.pre_depth > 0 => self.pre_text("\n"),
            "br" => {
                if self.cell.is_some() {
                    self.pending_space = true;
                } else if self.written_any && !self.at_line_start {
                    self.put("\\");
                    self.separate(Separator::Line);
                }
            }
            "hr" => {
                self.separate(Separator::Blank);
                self.content();
                self.put("---");
                self.separate(Separator::Blank);
            }
            _ => {}
        }
    }

    /// Closes the elements a start tag `name` ends without their end tags (HTML §13.2.6.4.7).
    fn close_omitted(&mut self, name: &str) {
        let closes_p = matches!(
            name,
            "address"
                | "article"
                | "aside"
                | "blockquote"
                | "details"
                | "div"
                | "dl"
                | "fieldset"
                | "figcaption"
                | "figure"
                | "footer"
                | "form"
                | "h1"
                | "h2"
                | "h3"
                | "h4"
                | "h5"
                | "h6"
                | "header"
                | "hgroup"
                | "hr"
                | "main"
                | "menu"
                | "nav"
                | "ol"
                | "p"
                | "pre"
                | "listing"
                | "section"
                | "summary"
                | "table"
                | "ul"
                | "li"
                | "dd"
                | "dt"
                | "xmp"
                | "plaintext"
        );
        if closes_p {
            // "If the stack of open elements has a p element in button scope, then close a p
            // element."
            if let Some(index) = self.find_open(|n| n == "p", is_scope_boundary) {
                self.pop_to(index);
            }
        }
        match name {
            "li" => {
                if let Some(index) = self.find_open(
                    |n| n == "li",
                    |f| is_scope_boundary(f) || matches!(f.kind, Kind::List { .. }),
                ) {
                    self.pop_to(index);
                }
            }
            "dd" | "dt" => {
                if let Some(index) = self.find_open(
                    |n| n == "dd" || n == "dt",
                    |f| is_scope_boundary(f) || f.name == "dl",
                ) {
                    self.pop_to(index);
                }
            }
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                if let Some(top) = self.stack.last()
                    && matches!(top.kind, Kind::Heading { .. })
                {
                    let index = self.stack.len() - 1;
                    self.pop_to(index);
                }
            }
            "a" => {
                if let Some(index) = self.find_open(|n| n == "a", is_scope_boundary) {
                    self.pop_to(index);
                }
            }
            "tr" => self.close_in_table(&["tr", "td", "th"]),
            "td" | "th" => self.close_in_table(&["td", "th"]),
            "thead" | "tbody" | "tfoot" => {
                self.close_in_table(&["thead", "tbody", "tfoot", "tr", "td", "th"]);
            }
            _ => {}
        }
    }

    /// The index of the innermost open element whose name satisfies `wanted`, looking no
    /// further than the first `boundary`.
    fn find_open(
        &self,
        wanted: impl Fn(&str) -> bool,
        boundary: impl Fn(&Frame) -> bool,
    ) -> Option<usize> {
        for (index, frame) in self.stack.iter().enumerate().rev() {
            if wanted(&frame.name) {
                return Some(index);
            }
            if boundary(frame) {
                return None;
            }
        }
        None
    }

    /// Closes, down to the innermost table, the outermost open element named in `names`.
    fn close_in_table(&mut self, names: &[&str]) {
        let mut lowest = None;
        for (index, frame) in self.stack.iter().enumerate().rev() {
            if matches!(frame.kind, Kind::Table { .. } | Kind::InnerTable) {
                break;
            }
            if names.contains(&frame.name.as_str()) {
                lowest = Some(index);
            }
        }
        if let Some(index) = lowest {
            self.pop_to(index);
        }
    }

    /// Closes the elements from the top of the stack down to `index`, included.
    fn pop_to(&mut self, index: usize) {
        while self.stack.len() > index {
            let Some(frame) = self.stack.pop() else {
                break;
            };
            self.close(frame);
        }
    }

    fn close(&mut self, frame: Frame) {
        match frame.kind {
            Kind::Inline | Kind::InnerTable => {}
            Kind::Drop => self.drop_depth = self.drop_depth.saturating_sub(1),
            Kind::List { .. }
                if self
                    .stack
                    .iter()
                    .any(|f| matches!(f.kind, Kind::Item { .. })) =>
            {
                self.separate(Separator::Line);
            }
            Kind::Block | Kind::Quote { .. } | Kind::List { .. } => {
                self.separate(Separator::Blank);
            }
            Kind::Heading { marker } => {
                self.close_marker(marker, "");
                self.separate(Separator::Blank);
            }
            Kind::Item { written, .. } => {
                // An item with no content still shows its marker.
                if !written {
                    self.stack.push(Frame {
                        name: frame.name,
                        kind: Kind::Item {
                            marker: match frame.kind {
                                Kind::Item { marker, .. } => marker,
                                _ => String::new(),
                            },
                            written: false,
                        },
                    });
                    self.content();
                    self.stack.pop();
                }
                self.separate(Separator::Line);
            }
            Kind::Span { open, close } => self.close_marker(open, close),
            Kind::Link { open, href, title } => {
                let mut tail = String::from("](");
                push_destination(&mut tail, &href);
                push_title(&mut tail, title.as_deref());
                tail.push(')');
                self.close_marker(open, &tail);
            }
            Kind::Pre { fence_open, .. } => {
                self.pre_depth = self.pre_depth.saturating_sub(1);
                if fence_open {
                    if !self.at_line_start {
                        self.new_line();
                    }
                    self.put("```");
                    self.at_line_start = false;
                }
                self.separate(Separator::Blank);
            }
            Kind::Cell => {
                if let Some(cell) = self.cell.take() {
                    self.row.push(cell.trim().to_owned());
                }
                self.pending_space = false;
            }
            Kind::Row => self.write_row(),
            Kind::Table { .. } => {
                self.write_row();
                self.separate(Separator::Blank);
            }
        }
    }

    /// Writes the row collected so far, and the delimiter row after a table's first.
    fn write_row(&mut self) {
        if let Some(cell) = self.cell.take() {
            self.row.push(cell.trim().to_owned());
        }
        if self.row.is_empty() {
            return;
        }
        let row = std::mem::take(&mut self.row);
        let first = match self.stack.iter_mut().rev().find_map(|f| match &mut f.kind {
            Kind::Table { rows } => Some(rows),
            _ => None,
        }) {
            Some(rows) => {
                *rows = rows.saturating_add(1);
                *rows == 1
            }
            None => false,
        };
        self.separate(Separator::Line);
        self.content();
        let mut line = String::from("|");
        for cell in &row {
            line.push(' ');
            line.push_str(cell);
            line.push_str(" |");
        }
        self.put(&line);
        if first {
            self.new_line();
            self.put(&"| --- ".repeat(row.len()));
            self.put("|");
            self.at_line_start = false;
        }
        self.separate(Separator::Line);
    }

    /// Closes an inline marker: nothing at all if no text came after it.
    fn close_marker(&mut self, marker: Marker, close: &str) {
        if marker.generation == self.generation && self.inline_open.len() >= marker.at {
            self.inline_open.truncate(marker.at);
        } else if !close.is_empty() {
            self.put(close);
        }
    }

    fn separate(&mut self, separator: Separator) {
        if self.cell.is_some() {
            // Inside a table cell, blocks are run together on the row's one line.
            self.pending_space = true;
        } else {
            self.separator = self.separator.max(separator);
        }
    }

    /// Text outside code blocks: whitespace collapses to one space (CSS `white-space:
    /// normal`), Markdown's own characters are escaped.
    fn flow_text(&mut self, text: &str) {
        let in_code = self
            .stack
            .iter()
            .any(|f| matches!(f.kind, Kind::Span { close: "`", .. }));
        let in_cell = self.cell.is_some();
        let mut chunk = String::new();
        for c in text.chars() {
            if matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{c}') {
                if !chunk.is_empty() {
                    self.put(&chunk);
                    chunk.clear();
                }
                self.pending_space = true;
                continue;
            }
            if chunk.is_empty() {
                let line_start = self.content();
                if line_start && matches!(c, '#' | '>' | '-' | '+' | '=' | '|') {
                    chunk.push('\\');
                }
            }
            if (in_cell && c == '|') || (!in_code && is_markdown_char(c)) {
                chunk.push('\\');
            }
            chunk.push(c);
            if chunk.len() > 4096 {
                self.put(&chunk);
                chunk.clear();
            }
            if self.stopped.is_some() {
                return;
            }
        }
        if !chunk.is_empty() {
            self.put(&chunk);
        }
    }

    /// Text inside a code block: written as it is, each line with the block's prefix.
    fn pre_text(&mut self, text: &str) {
        // Found once per run of text: writing does not change the stack.
        let Some(index) = self
            .stack
            .iter()
            .rposition(|f| matches!(f.kind, Kind::Pre { .. }))
        else {
            return;
        };
        for c in text.chars() {
            if self.stopped.is_some() {
                return;
            }
            let Some(Frame {
                kind:
                    Kind::Pre {
                        language,
                        fence_open,
                        fresh,
                    },
                ..
            }) = self.stack.get_mut(index)
            else {
                return;
            };
            if c == '\r' {
                continue;
            }
            if !*fence_open {
                // HTML §13.2.6.4.7: a newline right after `<pre>` is ignored.
                let skip = *fresh && c == '\n';
                *fresh = false;
                if skip {
                    continue;
                }
                *fence_open = true;
                let fence = format!("```{language}");
                self.inline_open.clear();
                self.generation += 1;
                self.content();
                self.put(&fence);
                self.new_line();
            }
            if c == '\n' {
                self.new_line();
            } else {
                let mut buf = [0; 4];
                self.put(c.encode_utf8(&mut buf));
                self.at_line_start = false;
            }
        }
    }

    /// Gets ready to write content: the pending separator, the line prefix, a pending space and
    /// pending inline markers. Returns whether the content starts a line.
    fn content(&mut self) -> bool {
        if let Some(cell) = &mut self.cell {
            if self.pending_space && !cell.is_empty() {
                cell.push(' ');
            }
            self.pending_space = false;
            let open = std::mem::take(&mut self.inline_open);
            self.generation += 1;
            self.put(&open);
            return false;
        }
        if self.written_any && self.separator > Separator::None {
            if self.separator == Separator::Blank {
                self.put("\n");
                self.write_prefix(false);
                let trimmed = self.out.trim_end_matches(' ').len();
                self.total = self.total.saturating_sub(self.out.len() - trimmed);
                self.out.truncate(trimmed);
            }
            self.put("\n");
            self.at_line_start = true;
        }
        self.separator = Separator::None;
        let line_start = self.at_line_start;
        if self.at_line_start {
            self.write_prefix(true);
            self.at_line_start = false;
        } else if self.pending_space {
            self.put(" ");
        }
        self.pending_space = false;
        let open = std::mem::take(&mut self.inline_open);
        self.generation += 1;
        self.put(&open);
        self.written_any = true;
        line_start && open.is_empty()
    }

    /// A line break inside a block: the next line carries the block's prefix.
    fn new_line(&mut self) {
        self.put("\n");
        self.write_prefix(true);
        self.at_line_start = true;
    }

    /// The prefix of a line: `> ` per block quote, and per list item its marker on its first
    /// line and as many spaces on the others. On a blank line (`markers` false) a marker not yet
    /// written stays pending.
    fn write_prefix(&mut self, markers: bool) {
        let mut prefix = String::new();
        for frame in &mut self.stack {
            match &mut frame.kind {
                Kind::Quote { started } => {
                    if markers {
                        *started = true;
                    }
                    if *started {
                        prefix.push_str("> ");
                    }
                }
                Kind::Item { marker, written } => {
                    if *written || !markers {
                        prefix.extend(std::iter::repeat_n(' ', marker.len()));
                    } else {
                        prefix.push_str(marker);
                        *written = true;
                    }
                }
                _ => {}
            }
        }
        self.put(&prefix);
    }

    /// Appends to the Markdown (or to the table cell being collected), counting the output.
    fn put(&mut self, s: &str) {
        if self.stopped.is_some() {
            return;
        }
        self.total = self.total.saturating_add(s.len());
        if self.total > MAX_OUTPUT_BYTES {
            self.stop(Stop::OutputTooLarge);
            return;
        }
        match &mut self.cell {
            Some(cell) => cell.push_str(&s.replace('\n', " ")),
            None => self.out.push_str(s),
        }
    }
}

/// Characters that would start Markdown syntax inside a line.
fn is_markdown_char(c: char) -> bool {
    matches!(c, '\\' | '*' | '[' | ']' | '<' | '`')
}

/// Elements that bound the scopes of HTML §13.2.4.2 as this writer keeps them.
fn is_scope_boundary(frame: &Frame) -> bool {
    matches!(
        frame.kind,
        Kind::Table { .. } | Kind::InnerTable | Kind::Cell | Kind::Row
    ) || matches!(
        frame.name.as_str(),
        "caption" | "button" | "marquee" | "object"
    )
}

/// A link text or image description: brackets and backslashes escaped, whitespace collapsed.
fn push_label(out: &mut String, label: &str) {
    let mut space = false;
    for c in label.chars() {
        if c.is_ascii_whitespace() {
            space = true;
            continue;
        }
        if space && !out.ends_with('[') {
            out.push(' ');
        }
        space = false;
        if matches!(c, '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
}

/// A link destination (CommonMark §6.3): spaces, parentheses and control characters
/// percent-encoded so the destination stays one token.
fn push_destination(out: &mut String, href: &str) {
    for c in href.trim().chars() {
        match c {
            ' ' => out.push_str("%20"),
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
}

/// A link title (CommonMark §6.3), in double quotes.
fn push_title(out: &mut String, title: Option<&str>) {
    let Some(title) = title.map(str::trim).filter(|t| !t.is_empty()) else {
        return;
    };
    out.push_str(" \"");
    for c in title.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
}

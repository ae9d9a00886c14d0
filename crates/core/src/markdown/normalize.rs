//! The linear pass in front of the converter: it tokenizes a page (a simplification of HTML
//! §13.2.5), keeps the elements and attributes the Markdown uses, closes every element it opens,
//! in order, and counts what html5ever will spend on the result, refusing pages over the limits.
//!
//! Why the output is safe to hand to html5ever: it is well-formed, so html5ever's stack of open
//! elements is the stack kept here, plus at most the `<html>`, `<head>`/`<body>` it adds, a
//! `<tbody>` and a `<tr>` per open table, and the formatting elements it re-opens after an
//! element that closed them (HTML §13.2.4.3), which are among the formatting elements open here.
//! Its costly steps are walks of those two lists: scope checks walk the stack for every tag, and
//! re-opening formatting elements walks the stack once per formatting element. So every token
//! is charged depth × (1 + open formatting elements) against [`MAX_PARSE_WORK`], the depth is
//! capped at [`MAX_MARKDOWN_NESTING_DEPTH`], and at most a few attributes per tag survive (the
//! tokenizer's duplicate check is quadratic in them).
//!
//! The rules for omitted end tags (`<p>`, `<li>`, `<dd>`, `<dt>`, headings, nested `<a>`, table
//! cells, rows and sections) are the common cases of HTML §13.2.6.4.7 ("in body"), not the
//! whole algorithm: a misnested page may come out shaped differently from a browser's DOM, but
//! never deeper or costlier than counted. The walks here are as long as the ones charged.

use super::{MAX_MARKDOWN_NESTING_DEPTH, MAX_MARKDOWN_OUTPUT_BYTES, Unconverted};

/// The work budget for html5ever's parse of the rewritten page, in steps of its walks over the
/// stack of open elements (see the module documentation). Measured natively, a page that spends
/// all of it converts in about 0.2 s; a 1 MiB page of ordinary, shallow markup spends 1 M.
const MAX_PARSE_WORK: u64 = 1 << 25;

/// Elements the parser may add around what is written here: `<html>`, `<head>` or `<body>`.
const IMPLIED_DEPTH: usize = 3;

/// Rewrites `html` into well-formed HTML for the converter, or refuses it.
pub(super) fn normalize(html: &str) -> Result<String, Unconverted> {
    let mut rewrite = Rewrite::new(html.len());
    rewrite.run(html)?;
    rewrite.finish()
}

/// What the rewrite does with an element, by its lower-case tag name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Treatment {
    /// Written under this name.
    Keep(&'static str),
    /// A void element written under this name.
    Void(&'static str),
    /// Not written; its content is.
    Unwrap,
    /// A void element that is not written.
    DropVoid,
    /// Neither it nor its content is written; the content is still tokenized.
    Drop,
    /// Raw text (HTML §13.1.2): the content is not markup and is not written.
    RawDrop,
    /// Raw text shown as preformatted text (`<xmp>`, `<plaintext>`).
    RawPre,
    /// `<html>`, `<head>`, `<body>`: the tags are ignored, the content is kept.
    Ignore,
}

/// Elements written as they are. Everything not listed here or in [`treatment`] is unwrapped.
const KEPT: &[&str] = &[
    "a",
    "abbr",
    "address",
    "article",
    "aside",
    "b",
    "bdi",
    "bdo",
    "blockquote",
    "caption",
    "cite",
    "code",
    "dd",
    "del",
    "details",
    "dfn",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "i",
    "ins",
    "kbd",
    "li",
    "main",
    "mark",
    "nav",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "samp",
    "section",
    "small",
    "span",
    "strike",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "time",
    "tr",
    "u",
    "ul",
    "var",
];

fn treatment(name: &str) -> Treatment {
    if let Some(kept) = KEPT.iter().copied().find(|kept| *kept == name) {
        return Treatment::Keep(kept);
    }
    match name {
        "listing" => Treatment::Keep("pre"),
        "dir" | "menu" => Treatment::Keep("ul"),
        "tt" => Treatment::Keep("code"),
        "center" | "dialog" | "fieldset" | "form" | "hgroup" | "legend" | "search" => {
            Treatment::Keep("div")
        }
        "br" => Treatment::Void("br"),
        "hr" => Treatment::Void("hr"),
        "img" | "image" => Treatment::Void("img"),
        "input" => Treatment::Void("input"),
        "area" | "base" | "basefont" | "bgsound" | "col" | "embed" | "frame" | "keygen"
        | "link" | "meta" | "param" | "source" | "track" | "wbr" => Treatment::DropVoid,
        "colgroup" | "datalist" | "math" | "select" | "svg" | "template" => Treatment::Drop,
        "iframe" | "noembed" | "noframes" | "noscript" | "script" | "style" | "textarea"
        | "title" => Treatment::RawDrop,
        "plaintext" | "xmp" => Treatment::RawPre,
        "body" | "head" | "html" => Treatment::Ignore,
        _ => Treatment::Unwrap,
    }
}

/// The attributes the converter reads, per element; all others are dropped.
fn keeps_attribute(element: &str, attribute: &str) -> bool {
    matches!(
        (element, attribute),
        ("a", "href" | "title")
            | ("img", "src" | "alt" | "title")
            | ("ol", "start")
            | ("code" | "pre", "class")
            | ("input", "type" | "checked")
            | ("td" | "th", "align")
    )
}

/// Every attribute name [`keeps_attribute`] may keep, to skip the others without allocating.
const WANTED_ATTRIBUTES: &[&str] = &[
    "href", "title", "src", "alt", "start", "class", "type", "checked", "align",
];

/// HTML's formatting elements (§13.2.4.3) among those written: the parser re-opens them.
fn is_formatting(name: &str) -> bool {
    matches!(
        name,
        "a" | "b" | "code" | "em" | "i" | "s" | "small" | "strike" | "strong" | "u"
    )
}

/// Written elements that hold phrasing content only: an open `<p>` may sit below them.
fn is_phrasing(name: &str) -> bool {
    is_formatting(name)
        || matches!(
            name,
            "abbr"
                | "bdi"
                | "bdo"
                | "cite"
                | "del"
                | "dfn"
                | "ins"
                | "kbd"
                | "mark"
                | "q"
                | "samp"
                | "span"
                | "sub"
                | "sup"
                | "time"
                | "var"
                | "br"
                | "img"
                | "input"
        )
}

/// Start tags that close an open `<p>` (HTML §13.2.6.4.7, "in body").
fn closes_p(name: &str) -> bool {
    matches!(
        name,
        "address"
            | "article"
            | "aside"
            | "blockquote"
            | "details"
            | "div"
            | "dl"
            | "dd"
            | "dt"
            | "figcaption"
            | "figure"
            | "footer"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "header"
            | "hr"
            | "li"
            | "main"
            | "nav"
            | "ol"
            | "p"
            | "pre"
            | "section"
            | "summary"
            | "table"
            | "ul"
    )
}

fn is_heading(name: &str) -> bool {
    matches!(name, "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
}

/// Elements that exist only inside a `<table>`; outside one they are unwrapped.
fn is_table_part(name: &str) -> bool {
    matches!(
        name,
        "caption" | "tbody" | "td" | "tfoot" | "th" | "thead" | "tr"
    )
}

/// How many columns of Markdown prefix an open element adds to each line inside it.
fn prefix_width(name: &str) -> u64 {
    match name {
        "blockquote" => 2,
        "dd" | "li" => 4,
        _ => 0,
    }
}

/// SVG and MathML elements whose children are HTML again (HTML §13.2.6.5).
fn is_integration_point(name: &str) -> bool {
    matches!(
        name,
        "foreignobject" | "desc" | "title" | "mi" | "mo" | "mn" | "ms" | "mtext" | "annotation-xml"
    )
}

/// Start tags that end SVG or MathML content (HTML §13.2.6.5, "in foreign content").
fn breaks_out_of_foreign(name: &str) -> bool {
    matches!(
        name,
        "b" | "big"
            | "blockquote"
            | "body"
            | "br"
            | "center"
            | "code"
            | "dd"
            | "div"
            | "dl"
            | "dt"
            | "em"
            | "embed"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "head"
            | "hr"
            | "i"
            | "img"
            | "li"
            | "listing"
            | "menu"
            | "meta"
            | "nobr"
            | "ol"
            | "p"
            | "pre"
            | "ruby"
            | "s"
            | "small"
            | "span"
            | "strong"
            | "strike"
            | "sub"
            | "sup"
            | "table"
            | "tt"
            | "u"
            | "ul"
            | "var"
    )
}

fn is_void(name: &str) -> bool {
    matches!(treatment(name), Treatment::Void(_) | Treatment::DropVoid)
}

/// HTML §13.2.5: "ASCII whitespace" as the tokenizer sees it.
fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

/// A tag as tokenized: lower-case name, the wanted attributes, and the `/>` flag.
#[derive(Debug)]
struct Tag<'a> {
    name: String,
    attributes: Vec<(&'static str, &'a str)>,
    self_closing: bool,
}

/// An element open in the rewrite.
#[derive(Debug)]
struct Open {
    /// The tag name in the source, matched by end tags.
    source: String,
    /// The name written, or `None` when unwrapped.
    written: Option<&'static str>,
}

/// The shape of an open table: what the converter's grid will hold.
#[derive(Debug, Default)]
struct TableShape {
    rows: u64,
    cells_in_row: u64,
    widest_row: u64,
}

/// An element open inside a dropped subtree.
#[derive(Debug)]
struct SkippedOpen {
    name: String,
    /// True for SVG or MathML elements that are not integration points.
    foreign: bool,
}

/// What to do with a token seen inside a dropped subtree.
enum SkipOutcome {
    /// It belongs to the subtree.
    Stay,
    /// It ends the subtree and must be handled as an ordinary token.
    Leave,
}

/// A dropped subtree (`<svg>`, `<template>`, …) being read past.
#[derive(Debug)]
struct Skip {
    open: Vec<SkippedOpen>,
}

impl Skip {
    fn new(name: String) -> Self {
        let foreign = name == "svg" || name == "math";
        Self {
            open: vec![SkippedOpen { name, foreign }],
        }
    }

    fn start(&mut self, tag: &Tag<'_>) -> SkipOutcome {
        let in_foreign = self.open.last().is_some_and(|open| open.foreign);
        if in_foreign && breaks_out_of_foreign(&tag.name) {
            // The parser pops SVG/MathML elements until an HTML element or integration point.
            match self.open.iter().rposition(|open| !open.foreign) {
                Some(index) => self.open.truncate(index + 1),
                None => return SkipOutcome::Leave,
            }
        }
        let in_foreign = self.open.last().is_some_and(|open| open.foreign);
        let opens = if in_foreign {
            !tag.self_closing
        } else {
            !is_void(&tag.name)
        };
        if opens {
            let foreign = if in_foreign {
                !is_integration_point(&tag.name)
            } else {
                tag.name == "svg" || tag.name == "math"
            };
            self.open.push(SkippedOpen {
                name: tag.name.clone(),
                foreign,
            });
        }
        SkipOutcome::Stay
    }

    /// `open_outside` says whether an element of that name is open outside the subtree.
    fn end(&mut self, name: &str, open_outside: bool) -> (SkipOutcome, bool) {
        if let Some(index) = self.open.iter().rposition(|open| open.name == name) {
            self.open.truncate(index);
            return (SkipOutcome::Stay, self.open.is_empty());
        }
        if open_outside {
            return (SkipOutcome::Leave, true);
        }
        (SkipOutcome::Stay, false)
    }
}

/// The rewrite's state: what is written, what is open, and what has been charged.
struct Rewrite {
    out: String,
    stack: Vec<Open>,
    tables: Vec<TableShape>,
    skip: Option<Skip>,
    /// Written formatting elements open.
    formatting: u64,
    /// Columns of Markdown prefix on each line at this point.
    prefix: u64,
    /// Charged against [`MAX_PARSE_WORK`].
    work: u64,
    /// Estimated Markdown bytes, checked against [`MAX_MARKDOWN_OUTPUT_BYTES`].
    output: u64,
}

impl Rewrite {
    fn new(source_len: usize) -> Self {
        let mut out = String::with_capacity(source_len.saturating_add(64));
        // Standards mode: in quirks mode a `<table>` does not close an open `<p>`.
        out.push_str("<!DOCTYPE html>");
        Self {
            out,
            stack: Vec::new(),
            tables: Vec::new(),
            skip: None,
            formatting: 0,
            prefix: 0,
            work: 0,
            output: 0,
        }
    }

    fn run(&mut self, html: &str) -> Result<(), Unconverted> {
        let bytes = html.as_bytes();
        let mut pos = 0;
        while pos < bytes.len() {
            let Some(lt) = find_byte(bytes, pos, b'<') else {
                self.text(html.get(pos..).unwrap_or_default())?;
                break;
            };
            if lt > pos {
                self.text(html.get(pos..lt).unwrap_or_default())?;
            }
            pos = self.markup(html, lt)?;
        }
        Ok(())
    }

    /// Handles the markup starting with the `<` at `lt`; returns where to go on.
    fn markup(&mut self, html: &str, lt: usize) -> Result<usize, Unconverted> {
        let bytes = html.as_bytes();
        match bytes.get(lt + 1) {
            Some(b) if b.is_ascii_alphabetic() => {
                let Some((tag, next)) = parse_tag(html, lt + 1) else {
                    // HTML §13.2.5.x "eof-in-tag": the tag is dropped.
                    return Ok(bytes.len());
                };
                match treatment(&tag.name) {
                    kind @ (Treatment::RawDrop | Treatment::RawPre) => {
                        let end = if tag.name == "plaintext" {
                            bytes.len()
                        } else {
                            raw_text_end(bytes, next, tag.name.as_bytes())
                        };
                        let content = html.get(next..end).unwrap_or_default();
                        self.raw_text(kind, content)?;
                        // The end tag, if any, is read next as an ordinary end tag; nothing
                        // open matches it.
                        Ok(end)
                    }
                    _ => {
                        self.start_tag(tag)?;
                        Ok(next)
                    }
                }
            }
            Some(b'/') => match bytes.get(lt + 2) {
                Some(b) if b.is_ascii_alphabetic() => {
                    let Some((tag, next)) = parse_tag(html, lt + 2) else {
                        return Ok(bytes.len());
                    };
                    self.end_tag(&tag.name)?;
                    Ok(next)
                }
                // `</>` is ignored; `</` at the end is text.
                Some(b'>') => Ok(lt + 3),
                None => {
                    self.text("</")?;
                    Ok(bytes.len())
                }
                // A bogus comment, up to the next `>`.
                Some(_) => Ok(skip_past(bytes, lt + 2, b'>')),
            },
            Some(b'!') => {
                if bytes.get(lt + 2..lt + 4) == Some(b"--".as_slice()) {
                    Ok(comment_end(bytes, lt + 4))
                } else {
                    // `<!DOCTYPE …>`, `<![CDATA[…>` outside foreign content: bogus comments.
                    Ok(skip_past(bytes, lt + 2, b'>'))
                }
            }
            Some(b'?') => Ok(skip_past(bytes, lt + 1, b'>')),
            _ => {
                self.text("<")?;
                Ok(lt + 1)
            }
        }
    }

    fn start_tag(&mut self, tag: Tag<'_>) -> Result<(), Unconverted> {
        if let Some(mut skip) = self.skip.take() {
            self.charge(1)?;
            match skip.start(&tag) {
                SkipOutcome::Stay => {
                    if skip.open.len().saturating_add(self.stack.len()) > MAX_MARKDOWN_NESTING_DEPTH
                    {
                        return Err(Unconverted::TooDeep);
                    }
                    self.skip = Some(skip);
                    return Ok(());
                }
                SkipOutcome::Leave => {}
            }
        }
        self.charge_token()?;
        let mut treatment = treatment(&tag.name);
        if let Treatment::Keep(name) = treatment
            && is_table_part(name)
            && self.tables.is_empty()
        {
            treatment = Treatment::Unwrap;
        }
        match treatment {
            Treatment::Keep(name) => {
                self.close_omitted(name)?;
                self.open(tag.name, Some(name), &tag.attributes)
            }
            Treatment::Void(name) => {
                self.close_omitted(name)?;
                self.write_start(name, &tag.attributes)
            }
            Treatment::Unwrap => self.open(tag.name, None, &[]),
            Treatment::Drop => {
                let foreign = tag.name == "svg" || tag.name == "math";
                if !(foreign && tag.self_closing) {
                    self.skip = Some(Skip::new(tag.name));
                }
                Ok(())
            }
            // Raw text is handled by `markup`; void and ignored tags leave nothing.
            Treatment::DropVoid | Treatment::Ignore | Treatment::RawDrop | Treatment::RawPre => {
                Ok(())
            }
        }
    }

    fn end_tag(&mut self, name: &str) -> Result<(), Unconverted> {
        if let Some(mut skip) = self.skip.take() {
            self.charge(1)?;
            let open_outside = self.stack.iter().any(|open| open.source == name);
            let (outcome, finished) = skip.end(name, open_outside);
            if !finished {
                self.skip = Some(skip);
            }
            match outcome {
                SkipOutcome::Stay => return Ok(()),
                SkipOutcome::Leave => {}
            }
        }
        self.charge_token()?;
        match name {
            // HTML §13.2.6.4.7: `</br>` is treated as `<br>`.
            "br" => self.write_start("br", &[]),
            "body" | "head" | "html" => Ok(()),
            _ => {
                // Table structure closes through cells; anything else stops at a table or cell
                // boundary, as "has an element in scope" does (HTML §13.2.4.2).
                let table_structure = matches!(
                    name,
                    "table" | "tbody" | "tfoot" | "thead" | "tr" | "caption"
                );
                let found = self.find_open(
                    |open| open.source == name,
                    |open| match open.written {
                        Some("table") => true,
                        Some("td" | "th" | "caption") => !table_structure,
                        _ => false,
                    },
                );
                match found {
                    Some(index) => self.pop_to(index),
                    None => Ok(()),
                }
            }
        }
    }

    fn raw_text(&mut self, kind: Treatment, content: &str) -> Result<(), Unconverted> {
        if self.skip.is_some() || kind != Treatment::RawPre {
            return self.charge(1);
        }
        self.charge_token()?;
        self.close_omitted("pre")?;
        self.open("pre".to_owned(), Some("pre"), &[])?;
        self.text(content)?;
        let index = self.stack.len().saturating_sub(1);
        self.pop_to(index)
    }

    fn text(&mut self, text: &str) -> Result<(), Unconverted> {
        if text.is_empty() {
            return Ok(());
        }
        if self.skip.is_some() {
            return self.charge(1);
        }
        self.charge_token()?;
        let newlines = text.bytes().filter(|b| *b == b'\n').count();
        self.estimate_output(
            (text.len() as u64)
                .saturating_mul(3)
                .saturating_add((newlines as u64).saturating_mul(self.prefix)),
        )?;
        for piece in text.split_inclusive('<') {
            match piece.strip_suffix('<') {
                Some(before) => {
                    self.out.push_str(before);
                    self.out.push_str("&lt;");
                }
                None => self.out.push_str(piece),
            }
        }
        Ok(())
    }

    /// Closes the elements whose end tag may be omitted before a `name` start tag.
    fn close_omitted(&mut self, name: &str) -> Result<(), Unconverted> {
        if closes_p(name) {
            // "If the stack of open elements has a p element in button scope, then close a p
            // element": here, a `<p>` with only phrasing elements above it.
            let found = self.find_open(
                |open| open.written == Some("p"),
                |open| open.written.is_some_and(|written| !is_phrasing(written)),
            );
            if let Some(index) = found {
                self.pop_to(index)?;
            }
        }
        let found = match name {
            // "in body", `li`/`dd`/`dt`: walk down to an open item, stopping at special
            // elements other than `address`, `div` and `p`.
            "li" | "dd" | "dt" => {
                let targets: &[&str] = if name == "li" { &["li"] } else { &["dd", "dt"] };
                self.find_open(
                    |open| {
                        open.written
                            .is_some_and(|written| targets.contains(&written))
                    },
                    |open| {
                        open.written.is_some_and(|written| {
                            !is_phrasing(written) && !matches!(written, "address" | "div" | "p")
                        })
                    },
                )
            }
            // "If the current node is an HTML element whose tag name is one of h1, …, h6,
            // then this is a parse error; pop the current node off the stack."
            _ if is_heading(name) => self
                .stack
                .last()
                .is_some_and(|open| open.written.is_some_and(is_heading))
                .then(|| self.stack.len().saturating_sub(1)),
            // A nested `<a>` closes the open one (the adoption agency, simplified).
            "a" => self.find_open(
                |open| open.written == Some("a"),
                |open| matches!(open.written, Some("table" | "td" | "th" | "caption")),
            ),
            "td" | "th" => self.find_open(
                |open| matches!(open.written, Some("td" | "th")),
                |open| open.written == Some("table"),
            ),
            // A new row closes the open row, a new section the open section, with what they
            // hold: the lowest such element above the innermost table.
            "tr" => self
                .lowest_in_table(|written| written == "tr")
                .or_else(|| self.lowest_in_table(|written| matches!(written, "td" | "th"))),
            "tbody" | "thead" | "tfoot" | "caption" => self.lowest_in_table(|written| {
                matches!(
                    written,
                    "tbody" | "thead" | "tfoot" | "caption" | "tr" | "td" | "th"
                )
            }),
            _ => None,
        };
        match found {
            Some(index) => self.pop_to(index),
            None => Ok(()),
        }
    }

    /// The index of the lowest element above the innermost open `<table>` whose written name
    /// matches `target`.
    fn lowest_in_table(&self, target: impl Fn(&str) -> bool) -> Option<usize> {
        let table = self
            .stack
            .iter()
            .rposition(|open| open.written == Some("table"))?;
        self.stack
            .iter()
            .enumerate()
            .skip(table + 1)
            .find(|(_, open)| open.written.is_some_and(&target))
            .map(|(index, _)| index)
    }

    /// The index of the topmost open element matching `target`, walking down from the top and
    /// giving up at one matching `stop`.
    fn find_open(
        &self,
        target: impl Fn(&Open) -> bool,
        stop: impl Fn(&Open) -> bool,
    ) -> Option<usize> {
        for (index, open) in self.stack.iter().enumerate().rev() {
            if target(open) {
                return Some(index);
            }
            if stop(open) {
                return None;
            }
        }
        None
    }

    fn open(
        &mut self,
        source: String,
        written: Option<&'static str>,
        attributes: &[(&'static str, &str)],
    ) -> Result<(), Unconverted> {
        if self.depth().saturating_add(1) > MAX_MARKDOWN_NESTING_DEPTH {
            return Err(Unconverted::TooDeep);
        }
        if let Some(name) = written {
            self.write_start(name, attributes)?;
            if is_formatting(name) {
                self.formatting += 1;
            }
            self.prefix += prefix_width(name);
            match name {
                "table" => self.tables.push(TableShape::default()),
                "tr" => {
                    if let Some(table) = self.tables.last_mut() {
                        table.rows += 1;
                        table.cells_in_row = 0;
                    }
                }
                "td" | "th" => {
                    if let Some(table) = self.tables.last_mut() {
                        table.rows = table.rows.max(1);
                        table.cells_in_row += 1;
                        table.widest_row = table.widest_row.max(table.cells_in_row);
                    }
                }
                _ => {}
            }
        }
        self.stack.push(Open { source, written });
        Ok(())
    }

    /// Pops every element from the top down to `index`, writing their end tags.
    fn pop_to(&mut self, index: usize) -> Result<(), Unconverted> {
        while self.stack.len() > index {
            let Some(open) = self.stack.pop() else {
                break;
            };
            let Some(name) = open.written else {
                continue;
            };
            self.charge_token()?;
            self.estimate_output(self.prefix)?;
            self.out.push_str("</");
            self.out.push_str(name);
            self.out.push('>');
            if is_formatting(name) {
                self.formatting = self.formatting.saturating_sub(1);
            }
            self.prefix = self.prefix.saturating_sub(prefix_width(name));
            if name == "table"
                && let Some(table) = self.tables.pop()
            {
                // The converter lays every table out as a full grid of rows × widest row.
                self.estimate_output(
                    table
                        .rows
                        .saturating_mul(table.widest_row)
                        .saturating_mul(8),
                )?;
            }
        }
        Ok(())
    }

    fn write_start(
        &mut self,
        name: &'static str,
        attributes: &[(&'static str, &str)],
    ) -> Result<(), Unconverted> {
        self.out.push('<');
        self.out.push_str(name);
        let mut attribute_bytes: u64 = 0;
        for &(attribute, value) in attributes {
            if !keeps_attribute(name, attribute) {
                continue;
            }
            attribute_bytes = attribute_bytes.saturating_add(value.len() as u64);
            self.out.push(' ');
            self.out.push_str(attribute);
            self.out.push_str("=\"");
            for piece in value.split_inclusive('"') {
                match piece.strip_suffix('"') {
                    Some(before) => {
                        self.out.push_str(before);
                        self.out.push_str("&quot;");
                    }
                    None => self.out.push_str(piece),
                }
            }
            self.out.push('"');
        }
        self.out.push('>');
        self.estimate_output(
            attribute_bytes
                .saturating_mul(3)
                .saturating_add(self.prefix)
                .saturating_add(8),
        )
    }

    /// The parser's stack depth at this point, counted high (see the module documentation).
    fn depth(&self) -> usize {
        self.stack
            .len()
            .saturating_add(self.tables.len().saturating_mul(2))
            .saturating_add(IMPLIED_DEPTH)
    }

    /// Charges one token of the parser's work: a scope walk, and re-opening formatting elements.
    fn charge_token(&mut self) -> Result<(), Unconverted> {
        let depth = self.depth() as u64;
        self.charge(depth.saturating_mul(self.formatting.saturating_add(1)))
    }

    fn charge(&mut self, steps: u64) -> Result<(), Unconverted> {
        self.work = self.work.saturating_add(steps);
        if self.work > MAX_PARSE_WORK {
            return Err(Unconverted::TooCostly);
        }
        Ok(())
    }

    fn estimate_output(&mut self, bytes: u64) -> Result<(), Unconverted> {
        self.output = self.output.saturating_add(bytes);
        if self.output > MAX_MARKDOWN_OUTPUT_BYTES as u64 {
            return Err(Unconverted::OutputTooLarge);
        }
        Ok(())
    }

    fn finish(mut self) -> Result<String, Unconverted> {
        self.pop_to(0)?;
        Ok(self.out)
    }
}

/// Tokenizes the tag whose name starts at `start` (HTML §13.2.5.6 to §13.2.5.40, without
/// character references, which the parser decodes later). `None` when the input ends inside it.
fn parse_tag(html: &str, start: usize) -> Option<(Tag<'_>, usize)> {
    let bytes = html.as_bytes();
    let mut i = start;
    while let Some(&b) = bytes.get(i) {
        if is_space(b) || b == b'/' || b == b'>' {
            break;
        }
        i += 1;
    }
    let name = html.get(start..i)?.to_ascii_lowercase();
    let mut attributes: Vec<(&'static str, &str)> = Vec::new();
    loop {
        let b = *bytes.get(i)?;
        if is_space(b) {
            i += 1;
            continue;
        }
        if b == b'>' {
            return Some((
                Tag {
                    name,
                    attributes,
                    self_closing: false,
                },
                i + 1,
            ));
        }
        if b == b'/' {
            if bytes.get(i + 1) == Some(&b'>') {
                return Some((
                    Tag {
                        name,
                        attributes,
                        self_closing: true,
                    },
                    i + 2,
                ));
            }
            i += 1;
            continue;
        }
        // The attribute's name: its first character may be `=`.
        let name_start = i;
        i += 1;
        while let Some(&b) = bytes.get(i) {
            if is_space(b) || b == b'/' || b == b'>' || b == b'=' {
                break;
            }
            i += 1;
        }
        let attribute = html.get(name_start..i)?;
        while bytes.get(i).is_some_and(|b| is_space(*b)) {
            i += 1;
        }
        let mut value = "";
        if bytes.get(i) == Some(&b'=') {
            i += 1;
            while bytes.get(i).is_some_and(|b| is_space(*b)) {
                i += 1;
            }
            match *bytes.get(i)? {
                quote @ (b'"' | b'\'') => {
                    let end = find_byte(bytes, i + 1, quote)?;
                    value = html.get(i + 1..end)?;
                    i = end + 1;
                }
                // `a=>`: an empty value; the `>` ends the tag.
                b'>' => {}
                _ => {
                    let value_start = i;
                    while let Some(&b) = bytes.get(i) {
                        if is_space(b) || b == b'>' {
                            break;
                        }
                        i += 1;
                    }
                    value = html.get(value_start..i)?;
                }
            }
        }
        // The first of duplicate attributes wins (HTML §13.2.5.33).
        if let Some(wanted) = WANTED_ATTRIBUTES
            .iter()
            .copied()
            .find(|wanted| wanted.eq_ignore_ascii_case(attribute))
            && !attributes.iter().any(|(known, _)| *known == wanted)
        {
            attributes.push((wanted, value));
        }
    }
}

/// Where the raw text that starts at `from` ends: the `<` of `</name` followed by whitespace,
/// `/` or `>` (an "appropriate end tag", HTML §13.2.5.11), or the end of the input.
fn raw_text_end(bytes: &[u8], from: usize, name: &[u8]) -> usize {
    let mut i = from;
    while let Some(lt) = find_byte(bytes, i, b'<') {
        if bytes.get(lt + 1) == Some(&b'/') {
            let name_end = lt + 2 + name.len();
            if bytes
                .get(lt + 2..name_end)
                .is_some_and(|candidate| candidate.eq_ignore_ascii_case(name))
                && bytes
                    .get(name_end)
                    .is_none_or(|b| is_space(*b) || *b == b'/' || *b == b'>')
            {
                return lt;
            }
        }
        i = lt + 1;
    }
    bytes.len()
}

/// Where the comment whose body starts at `from` (after `<!--`) ends (HTML §13.2.5.43 to
/// §13.2.5.52): after `-->` or `--!>`; `<!-->` and `<!--->` end at once; else at the end.
fn comment_end(bytes: &[u8], from: usize) -> usize {
    if bytes.get(from) == Some(&b'>') {
        return from + 1;
    }
    if bytes.get(from..from + 2) == Some(b"->".as_slice()) {
        return from + 2;
    }
    let mut i = from;
    while let Some(dash) = find_byte(bytes, i, b'-') {
        if bytes.get(dash + 1) == Some(&b'-') {
            match bytes.get(dash + 2) {
                Some(b'>') => return dash + 3,
                Some(b'!') if bytes.get(dash + 3) == Some(&b'>') => return dash + 4,
                _ => {}
            }
        }
        i = dash + 1;
    }
    bytes.len()
}

/// The position after the next `byte` at or after `from`, or the end.
fn skip_past(bytes: &[u8], from: usize, byte: u8) -> usize {
    find_byte(bytes, from, byte).map_or(bytes.len(), |at| at + 1)
}

fn find_byte(bytes: &[u8], from: usize, byte: u8) -> Option<usize> {
    bytes
        .get(from..)?
        .iter()
        .position(|b| *b == byte)
        .map(|offset| from + offset)
}

#[cfg(test)]
mod tests;

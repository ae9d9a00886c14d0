//! Markdown for agents in the Worker: the origin's HTML streams through the runtime's own
//! `HTMLRewriter` (the same `lol_html` the `gatehouse-markdown` crate tests and fuzzes with),
//! whose element, end-tag and text events feed a [`Conversion`]; the Markdown streams to the
//! client as the page arrives, so neither the page nor the Markdown is held whole, and the wasm
//! carries no HTML parser. Which responses are converted, and their headers:
//! `gatehouse_core::markdown`.
//!
//! The page goes to the rewriter in the conversion's slices ([`Conversion::next_slice`]: at
//! most [`gatehouse_markdown::MAX_SOURCE_BYTES`] of it); the rewritten HTML that comes out is
//! only counted, to charge the parser's work on what it has consumed, and thrown away. Once the
//! conversion stops, the handlers do nothing, the page's stream ends at the next slice, which
//! ends the rewriter, and no more of the page is read.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use futures_util::{StreamExt as _, stream};
use gatehouse_markdown::{Attributes, Conversion, Stop, decode_attribute, is_void_element};
use js_sys::{Function, Object, Reflect};
use wasm_bindgen::JsCast as _;
use wasm_bindgen::prelude::*;
use worker::worker_sys::web_sys;
use worker::{ByteStream, Headers, Response, Result};

#[wasm_bindgen]
extern "C" {
    /// The runtime's streaming HTML rewriter.
    #[wasm_bindgen(js_name = HTMLRewriter)]
    type HtmlRewriter;
    #[wasm_bindgen(constructor, js_class = HTMLRewriter)]
    fn new() -> HtmlRewriter;
    #[wasm_bindgen(method, js_class = HTMLRewriter)]
    fn on(this: &HtmlRewriter, selector: &str, handlers: &Object) -> HtmlRewriter;
    #[wasm_bindgen(method, js_class = HTMLRewriter, js_name = onDocument)]
    fn on_document(this: &HtmlRewriter, handlers: &Object) -> HtmlRewriter;
    #[wasm_bindgen(method, catch, js_class = HTMLRewriter)]
    fn transform(
        this: &HtmlRewriter,
        response: &web_sys::Response,
    ) -> std::result::Result<web_sys::Response, JsValue>;

    /// A start tag, as the rewriter reports it.
    type Element;
    #[wasm_bindgen(method, getter, js_name = tagName)]
    fn tag_name(this: &Element) -> String;
    #[wasm_bindgen(method, js_name = getAttribute)]
    fn get_attribute(this: &Element, name: &str) -> Option<String>;
    /// Throws for an element that cannot have content (lol_html's `on_end_tag`).
    #[wasm_bindgen(method, catch, js_name = onEndTag)]
    fn on_end_tag(this: &Element, handler: &JsValue) -> std::result::Result<(), JsValue>;

    /// An end tag matched to an open element.
    type EndTag;
    #[wasm_bindgen(method, getter)]
    fn name(this: &EndTag) -> String;

    /// A run of text.
    type TextChunk;
    #[wasm_bindgen(method, getter)]
    fn text(this: &TextChunk) -> String;
    #[wasm_bindgen(method, getter, js_name = lastInTextNode)]
    fn last_in_text_node(this: &TextChunk) -> bool;
}

type Handler<T> = Closure<dyn FnMut(u32, T) -> std::result::Result<(), JsValue>>;

/// The rewriter's handlers, made once per isolate and never dropped: a rewriter may still call
/// them after the response they served has ended (a conversion that stopped early). Each
/// conversion gets them bound to its number in [`CONVERSIONS`]; once the conversion has ended,
/// they find nothing and throw, which ends that rewriter.
struct Handlers {
    element: Handler<Element>,
    end_tag: Handler<EndTag>,
    text: Handler<TextChunk>,
}

thread_local! {
    static CONVERSIONS: RefCell<HashMap<u32, Rc<RefCell<Conversion>>>> = RefCell::new(HashMap::new());
    static NEXT: Cell<u32> = const { Cell::new(0) };
    static HANDLERS: Handlers = Handlers {
        element: Closure::new(on_element),
        end_tag: Closure::new(|id, end: EndTag| with_conversion(id, |c| c.end_tag(&end.name()))),
        text: Closure::new(|id, chunk: TextChunk| {
            with_conversion(id, |c| c.text(&chunk.text(), chunk.last_in_text_node()))
        }),
    };
}

/// A conversion's place in [`CONVERSIONS`], for as long as its response streams.
struct Registered(u32);

impl Drop for Registered {
    fn drop(&mut self) {
        CONVERSIONS.with_borrow_mut(|conversions| conversions.remove(&self.0));
    }
}

/// Runs `event` on conversion `id`. A stopped or ended conversion ignores it: its input ends at
/// the next slice, which ends the rewriter (throwing would end it too, but the runtime logs
/// every throw as an uncaught error).
fn with_conversion(
    id: u32,
    event: impl FnOnce(&mut Conversion) -> std::result::Result<(), Stop>,
) -> std::result::Result<(), JsValue> {
    let Some(conversion) = CONVERSIONS.with_borrow(|conversions| conversions.get(&id).cloned())
    else {
        return Ok(());
    };
    let mut conversion = conversion
        .try_borrow_mut()
        .map_err(|_| JsValue::from_str("markdown conversion re-entered"))?;
    // A stop is the conversion's to report (`Conversion::stopped`), not the rewriter's.
    let _ = event(&mut conversion);
    Ok(())
}

fn on_element(id: u32, element: Element) -> std::result::Result<(), JsValue> {
    let name = element.tag_name();
    // The rewriter does not say whether an element can have content; registering for its end
    // tag throws when it cannot (a void element, or a self-closing foreign one).
    let has_content = !is_void_element(&name) && {
        let end_tag = HANDLERS.with(|handlers| {
            let end_tag: &Function = handlers.end_tag.as_ref().unchecked_ref();
            end_tag.bind1(&JsValue::NULL, &id.into())
        });
        element.on_end_tag(&end_tag).is_ok()
    };
    let attributes = attributes(&element, &name);
    with_conversion(id, |c| c.start_tag(name, has_content, attributes))
}

/// The attributes of `element` the Markdown uses, decoded.
fn attributes(element: &Element, name: &str) -> Attributes {
    let attribute = |name: &str| element.get_attribute(name).map(|v| decode_attribute(&v));
    match name {
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
    }
}

/// A rewriter whose events feed `conversion`, and its registration.
fn rewriter(conversion: &Rc<RefCell<Conversion>>) -> Result<(HtmlRewriter, Registered)> {
    let id = NEXT.with(|next| {
        let id = next.get();
        next.set(id.wrapping_add(1));
        id
    });
    CONVERSIONS.with_borrow_mut(|conversions| conversions.insert(id, Rc::clone(conversion)));
    let registered = Registered(id);
    let (element, text) = HANDLERS.with(|handlers| {
        let bind = |f: &JsValue| {
            f.unchecked_ref::<Function>()
                .bind1(&JsValue::NULL, &id.into())
        };
        (
            bind(handlers.element.as_ref()),
            bind(handlers.text.as_ref()),
        )
    });
    let element_handlers = Object::new();
    Reflect::set(&element_handlers, &"element".into(), &element)?;
    let document_handlers = Object::new();
    Reflect::set(&document_handlers, &"text".into(), &text)?;
    let rewriter = HtmlRewriter::new()
        .on("*", &element_handlers)
        .on_document(&document_handlers);
    Ok((rewriter, registered))
}

/// The origin's page in the conversion's slices, read as the rewriter asks for them; it ends
/// early once the conversion stops.
fn slices(
    body: Option<web_sys::ReadableStream>,
    conversion: Rc<RefCell<Conversion>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>>> {
    let chunks = body.map(ByteStream::from);
    stream::unfold(
        (chunks, Vec::new(), 0, conversion),
        |(mut chunks, mut pending, mut offset, conversion)| async move {
            loop {
                let slice = {
                    let mut conversion = conversion.borrow_mut();
                    let rest = pending.get(offset..).unwrap_or_default();
                    conversion.next_slice(rest).map(|(slice, _)| slice.to_vec())
                };
                if let Some(slice) = slice {
                    offset += slice.len();
                    return Some((Ok(slice), (chunks, pending, offset, conversion)));
                }
                if conversion.borrow().stopped().is_some() {
                    return None;
                }
                match chunks.as_mut()?.next().await? {
                    Ok(chunk) => {
                        pending = chunk;
                        offset = 0;
                    }
                    Err(error) => return Some((Err(error), (None, pending, offset, conversion))),
                }
            }
        },
    )
}

/// The origin's HTML `upstream` as a Markdown response with `status` and `headers` (already
/// edited by `gatehouse_core::markdown::header_edits`), streamed.
pub fn convert(
    upstream: &web_sys::Response,
    status: u16,
    headers: web_sys::Headers,
) -> Result<web_sys::Response> {
    let conversion = Rc::new(RefCell::new(Conversion::new()));
    let (rewriter, registered) = rewriter(&conversion)?;
    let page: web_sys::Response =
        Response::from_stream(slices(upstream.body(), Rc::clone(&conversion)))?.into();
    let rewritten = rewriter.transform(&page)?;
    let html = rewritten.body().map(ByteStream::from);
    let state = Some((html, 0usize, conversion, registered));
    let markdown = stream::unfold(state, |state| async move {
        let (mut html, mut parsed, conversion, registered) = state?;
        loop {
            let next = match html.as_mut() {
                Some(html) => html.next().await,
                None => None,
            };
            let chunk = match next {
                Some(Ok(chunk)) => chunk,
                Some(Err(error)) => return Some((Err(error), None)),
                None => return Some((Ok(conversion.borrow_mut().finish().into_bytes()), None)),
            };
            parsed = parsed.saturating_add(chunk.len());
            let (markdown, stopped) = {
                let mut conversion = conversion.borrow_mut();
                conversion.charge(parsed);
                let mut markdown = conversion.take();
                let stopped = conversion.stopped();
                if stopped.is_some() {
                    markdown.push_str(&conversion.finish());
                }
                (markdown, stopped)
            };
            if let Some(stop) = stopped {
                worker::console_warn!("markdown conversion stopped: {}", stop.as_str());
                // The page's stream ends at its next slice: let the rewriter finish, as
                // cancelling it makes the runtime log an error.
                if let Some(html) = html.as_mut() {
                    while html.next().await.is_some() {}
                }
                return Some((Ok(markdown.into_bytes()), None));
            }
            if !markdown.is_empty() {
                let state = (html, parsed, conversion, registered);
                return Some((Ok(markdown.into_bytes()), Some(state)));
            }
        }
    });
    Ok(Response::builder()
        .with_status(status)
        .with_headers(Headers(headers))
        .from_stream(markdown)?
        .into())
}

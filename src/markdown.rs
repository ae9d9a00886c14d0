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
//!
//! The page and the rewritten HTML are read through [`Chunks`], not `worker::ByteStream`: a
//! conversion abandoned by its client is freed later, on garbage collection, outside any
//! request, and `ByteStream`'s drop then calls `releaseLock`, which throws there; a throw through
//! the wasm marks the instance broken, the next request replaces it, and every response still
//! streaming from the old one hangs (e2e `markdown_stream.test.mjs`).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures_util::{FutureExt as _, StreamExt as _, stream};
use gatehouse_markdown::{Attributes, Conversion, Stop, decode_attribute, is_void_element};
use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::JsCast as _;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use worker::worker_sys::web_sys;
use worker::{Headers, Response, Result};

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

    /// A `ReadableStream`, for its reader. Every method is bound with `catch`: a JavaScript
    /// exception must never unwind through the wasm (see the module documentation).
    type Body;
    #[wasm_bindgen(method, catch, js_name = getReader)]
    fn get_reader(this: &Body) -> std::result::Result<Reader, JsValue>;

    /// A `ReadableStreamDefaultReader` (WHATWG Streams §4.3).
    type Reader;
    #[wasm_bindgen(method, catch)]
    fn read(this: &Reader) -> std::result::Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn cancel(this: &Reader) -> std::result::Result<Promise, JsValue>;
}

/// The chunks of a body, as `worker::ByteStream` reads them, except when dropped: it cancels the
/// body, ignoring any failure, and never calls `releaseLock` (the lock goes with the body). A
/// drop may run on garbage collection, outside any request, where the runtime refuses both.
struct Chunks {
    reader: Option<Reader>,
    read: Option<JsFuture>,
}

impl Chunks {
    fn new(body: web_sys::ReadableStream) -> Result<Self> {
        let reader = body.unchecked_into::<Body>().get_reader()?;
        Ok(Self {
            reader: Some(reader),
            read: None,
        })
    }
}

impl futures_util::Stream for Chunks {
    type Item = Result<Vec<u8>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let read = match (&mut this.read, &this.reader) {
            (Some(read), _) => read,
            (None, None) => return Poll::Ready(None),
            (None, Some(reader)) => match reader.read() {
                Ok(promise) => this.read.insert(JsFuture::from(promise)),
                Err(error) => {
                    this.reader = None;
                    return Poll::Ready(Some(Err(error.into())));
                }
            },
        };
        let Poll::Ready(result) = read.poll_unpin(cx) else {
            return Poll::Pending;
        };
        this.read = None;
        let result = match result {
            Ok(result) => result,
            Err(error) => {
                this.reader = None;
                return Poll::Ready(Some(Err(error.into())));
            }
        };
        let done = Reflect::get(&result, &"done".into()).map_or(true, |d| d.is_truthy());
        let value = Reflect::get(&result, &"value".into()).ok();
        match value.filter(|_| !done) {
            Some(value) => Poll::Ready(Some(Ok(Uint8Array::new(&value).to_vec()))),
            None => {
                this.reader = None;
                Poll::Ready(None)
            }
        }
    }
}

impl Drop for Chunks {
    fn drop(&mut self) {
        let Some(reader) = self.reader.take() else {
            return;
        };
        if let Ok(cancelled) = reader.cancel() {
            IGNORE.with(|ignore| {
                let _ = cancelled.catch(ignore);
            });
        }
    }
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
    /// A rejection handler that does nothing, for the cancels of [`Chunks`].
    static IGNORE: Closure<dyn FnMut(JsValue)> = Closure::new(|_: JsValue| {});
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
    chunks: Option<Chunks>,
    conversion: Rc<RefCell<Conversion>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>>> {
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
    let chunks = upstream.body().map(Chunks::new).transpose()?;
    let page: web_sys::Response =
        Response::from_stream(slices(chunks, Rc::clone(&conversion)))?.into();
    let rewritten = rewriter.transform(&page)?;
    let html = rewritten.body().map(Chunks::new).transpose()?;
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

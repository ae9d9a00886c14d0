//! The request the runtime hands the Worker. `worker::Request` reads `request.cf` as it is
//! built, which makes workerd materialize the whole `cf` object (location, TLS and bot data):
//! profiled at ~10% of a discovery request's CPU, for a property gatehouse never reads. This
//! wrapper reads only what gatehouse uses, when it uses it, and reads the headers once.

use std::cell::OnceCell;

use wasm_bindgen::JsCast as _;
use wasm_bindgen_futures::JsFuture;
use worker::worker_sys::web_sys;
use worker::{ByteStream, Error, Method, Result};

use crate::header_list::HeaderList;

pub struct Incoming {
    raw: web_sys::Request,
    method: OnceCell<String>,
    body: OnceCell<Option<web_sys::ReadableStream>>,
    runtime_headers: OnceCell<web_sys::Headers>,
    headers: OnceCell<HeaderList>,
    cookies: OnceCell<Option<String>>,
    authorization: OnceCell<Option<String>>,
    body_used: bool,
}

impl Incoming {
    pub fn new(raw: web_sys::Request) -> Self {
        Self {
            raw,
            method: OnceCell::new(),
            body: OnceCell::new(),
            runtime_headers: OnceCell::new(),
            headers: OnceCell::new(),
            cookies: OnceCell::new(),
            authorization: OnceCell::new(),
            body_used: false,
        }
    }

    /// The method as the runtime gives it: any token (RFC 9110 §9.1), the six the Fetch standard
    /// normalizes (`DELETE`, `GET`, `HEAD`, `OPTIONS`, `POST`, `PUT`) in upper case, others as
    /// sent. This is what the gate judges and what the origin receives.
    pub fn method(&self) -> &str {
        self.method.get_or_init(|| self.raw.method())
    }

    /// The method as `worker::Method`, for gatehouse's own endpoints; `None` for a method that
    /// type has no variant for (`worker::Method::from` would read it as `GET`).
    pub fn endpoint_method(&self) -> Option<Method> {
        let method = Method::from(self.method().to_owned());
        (method.as_ref() == self.method()).then_some(method)
    }

    /// Whether the request carries a body (the runtime gives none for a message without one).
    pub fn has_body(&self) -> bool {
        self.body().is_some()
    }

    /// The body as the runtime's stream, to forward as it is; read from the runtime once.
    pub fn body(&self) -> Option<&web_sys::ReadableStream> {
        self.body.get_or_init(|| self.raw.body()).as_ref()
    }

    /// Every header, read from the runtime on the first use: for forwarding, which must see
    /// every name.
    pub fn headers(&self) -> &HeaderList {
        self.headers
            .get_or_init(|| HeaderList::read(self.runtime_headers()))
    }

    /// The value of header `name`. Asked of the runtime unless every header was read already:
    /// reading them all costs more than the handful of lookups a request needs before it is
    /// forwarded (profiled on the `401`, which looks up six), so only forwarding reads them all.
    pub fn header(&self, name: &str) -> Option<String> {
        match self.headers.get() {
            Some(list) => list.get(name).map(str::to_owned),
            None => self.runtime_headers().get(name).ok().flatten(),
        }
    }

    /// The `Cookie` header, read once: several cookies of one request are looked up in it.
    pub fn cookies(&self) -> Option<&str> {
        self.cookies
            .get_or_init(|| self.header("Cookie"))
            .as_deref()
    }

    /// The `Authorization` header, read once: the router asks whether a request carries
    /// credentials before the gate reads them.
    pub fn authorization(&self) -> Option<&str> {
        self.authorization
            .get_or_init(|| self.header("Authorization"))
            .as_deref()
    }

    /// Whether the request carries credentials of any kind gatehouse reads: an `Authorization`
    /// header or cookies (a session among them).
    pub fn has_credentials(&self) -> bool {
        self.authorization().is_some() || self.cookies().is_some()
    }

    fn runtime_headers(&self) -> &web_sys::Headers {
        self.runtime_headers.get_or_init(|| self.raw.headers())
    }

    /// The URL, as the runtime serialized it.
    pub fn url(&self) -> String {
        self.raw.url()
    }

    /// The country the platform says the request came from (`request.cf.country`, ISO 3166-1
    /// alpha-2), read only when asked: for the Access-compatible assertion. Never a header the
    /// client could set.
    pub fn country(&self) -> Option<String> {
        let cf = js_sys::Reflect::get(&self.raw, &"cf".into()).ok()?;
        js_sys::Reflect::get(&cf, &"country".into())
            .ok()?
            .as_string()
            .filter(|country| country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase()))
    }

    pub fn inner(&self) -> &web_sys::Request {
        &self.raw
    }

    /// The whole body.
    pub async fn bytes(&mut self) -> Result<Vec<u8>> {
        let buffer = JsFuture::from(self.take_body()?.array_buffer()?).await?;
        Ok(js_sys::Uint8Array::new(&buffer).to_vec())
    }

    /// The whole body as text.
    pub async fn text(&mut self) -> Result<String> {
        let text = JsFuture::from(self.take_body()?.text()?).await?;
        text.as_string()
            .ok_or_else(|| Error::RustError("the body is not text".into()))
    }

    /// The body, chunk by chunk.
    pub fn stream(&mut self) -> Result<ByteStream> {
        let body = self
            .take_body()?
            .body()
            .ok_or_else(|| Error::RustError("no body".into()))?;
        let stream: web_sys::ReadableStream = body.unchecked_into();
        Ok(ByteStream::from(stream))
    }

    fn take_body(&mut self) -> Result<&web_sys::Request> {
        if std::mem::replace(&mut self.body_used, true) {
            return Err(Error::BodyUsed);
        }
        Ok(&self.raw)
    }
}

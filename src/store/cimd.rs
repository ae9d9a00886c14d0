//! The core's `MetadataDocuments` on the Worker: `fetch` for Client ID Metadata Documents
//! through `crate::upstream::WorkerFetch` (`redirect: manual`, so that a redirect comes back to
//! core, which refuses it; a timeout that aborts the request; the body read up to the size cap
//! and no further), a per-isolate cache in front of KV (`cimd:<sha256(url)>`, with the lifetime core
//! computed), and the `clients` row that consents and grants refer to.

use gatehouse_core::cimd::{CimdUrl, MetadataDocuments};
use gatehouse_core::net::{Fetch, FetchError, FetchedDocument, SafeUrl};
use gatehouse_core::secret::SecretHash;
use gatehouse_core::store::{ClientRecord, StoreError};
use gatehouse_core::time::UnixTime;
use gatehouse_core::types::ClientId;

use super::{WorkerStore, hash, kv_failed, text, time};
use crate::isolate_cache;
use crate::upstream::WorkerFetch;

thread_local! {
    /// Documents this isolate fetched or read from KV: cache key → (body, expiry in Unix seconds).
    static DOCUMENT_CACHE: std::cell::RefCell<std::collections::HashMap<String, (Vec<u8>, u64)>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// Bounds the per-isolate cache; an isolate that sees this many documents starts over.
const DOCUMENT_CACHE_ENTRIES: usize = 1_000;

fn remember(key: String, body: Vec<u8>, expires: u64) {
    isolate_cache::insert(
        &DOCUMENT_CACHE,
        DOCUMENT_CACHE_ENTRIES,
        key,
        (body, expires),
    );
}

impl MetadataDocuments for WorkerStore<'_> {
    async fn cached_document(
        &self,
        url: &CimdUrl,
        now: UnixTime,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let key = url.cache_key();
        let local = DOCUMENT_CACHE.with_borrow(|cache| {
            cache
                .get(&key)
                .filter(|(_, expires)| now.0 < *expires)
                .map(|(body, _)| body.clone())
        });
        if local.is_some() {
            return Ok(local);
        }
        // KV keeps the value until its expiration; the isolate copy lives a minute, so an
        // isolate does not outlive KV's copy by much.
        let stored = self
            .kv()?
            .get(&key)
            .bytes()
            .await
            .map_err(|e| kv_failed("cimd get", e))?;
        if let Some(body) = &stored {
            remember(key, body.clone(), now.0 + 60);
        }
        Ok(stored)
    }

    async fn cache_document(
        &self,
        url: &CimdUrl,
        body: &[u8],
        ttl_secs: u64,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let key = url.cache_key();
        remember(key.clone(), body.to_vec(), now.0 + ttl_secs);
        self.kv()?
            .put_bytes(&key, body)
            .map_err(|e| kv_failed("cimd put", e))?
            .expiration_ttl(ttl_secs)
            .execute()
            .await
            .map_err(|e| kv_failed("cimd put", e))
    }

    async fn use_assertion_id(
        &self,
        jti_hash: &SecretHash,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        #[derive(serde::Deserialize)]
        struct Used {
            #[allow(dead_code)] // Its presence is the answer.
            jti_hash: String,
        }
        // One statement: a new jti inserts; a known one is taken over only once it expired.
        // `RETURNING` yields a row exactly when this statement recorded the jti.
        let row: Option<Used> = self
            .first(
                "INSERT INTO client_assertion_jtis (jti_hash, expires_at) VALUES (?1, ?2) \
                 ON CONFLICT (jti_hash) DO UPDATE SET expires_at = excluded.expires_at \
                 WHERE client_assertion_jtis.expires_at <= ?3 RETURNING jti_hash",
                &[hash(jti_hash), time(expires_at), time(now)],
            )
            .await?;
        Ok(row.is_some())
    }

    async fn document_client_disabled(&self, client_id: &ClientId) -> Result<bool, StoreError> {
        #[derive(serde::Deserialize)]
        struct Disabled {
            #[allow(dead_code)] // Its presence is the answer.
            disabled_at: f64,
        }
        let row: Option<Disabled> = self
            .first(
                "SELECT disabled_at FROM clients WHERE client_id = ?1 AND disabled_at IS NOT NULL",
                &[text(client_id.as_str())],
            )
            .await?;
        Ok(row.is_some())
    }

    async fn remember_document_client(
        &self,
        client: &ClientRecord,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let metadata = serde_json::to_string(&client.metadata)
            .map_err(|e| StoreError(format!("client metadata: {e}")))?;
        let method = serde_json::to_value(client.metadata.token_endpoint_auth_method)
            .map_err(|e| StoreError(format!("client metadata: {e}")))?;
        // The upsert never touches a registered client: only rows of this source are updated.
        self.run(
            "INSERT INTO clients (client_id, source, token_endpoint_auth_method, metadata, created_at, last_used_at) \
             VALUES (?1, 'metadata_document', ?4, ?2, ?3, ?3) \
             ON CONFLICT (client_id) DO UPDATE SET metadata = excluded.metadata, \
             token_endpoint_auth_method = excluded.token_endpoint_auth_method, last_used_at = excluded.last_used_at \
             WHERE clients.source = 'metadata_document'",
            &[
                text(client.client_id.as_str()),
                text(&metadata),
                time(now),
                text(method.as_str().unwrap_or_default()),
            ],
        )
        .await
    }
}

/// Outbound requests go through the Worker's one `fetch` implementation.
impl Fetch for WorkerStore<'_> {
    async fn get(&self, url: &SafeUrl, max_bytes: usize) -> Result<FetchedDocument, FetchError> {
        WorkerFetch.get(url, max_bytes).await
    }

    async fn post_form(
        &self,
        url: &SafeUrl,
        body: &str,
        authorization: Option<&str>,
        max_bytes: usize,
    ) -> Result<FetchedDocument, FetchError> {
        WorkerFetch
            .post_form(url, body, authorization, max_bytes)
            .await
    }
}

//! The core's `LoginAttempts` on D1 (`login_attempts`).

use gatehouse_core::login_throttle::{self, LoginHistory};
use gatehouse_core::store::*;
use serde::Deserialize;
use wasm_bindgen::JsValue;

use super::{WorkerStore, first_row, hash, secs, text, time};

impl LoginAttempts for WorkerStore<'_> {
    async fn start_login_attempt(
        &self,
        attempt: &LoginAttempt<'_>,
    ) -> Result<Result<u64, LoginHistory>, StoreError> {
        #[derive(Deserialize)]
        struct Started {
            id: f64,
        }
        #[derive(Deserialize)]
        struct Row {
            account_failures: f64,
            account_oldest: Option<f64>,
            source_failures: f64,
            source_oldest: Option<f64>,
            source_known: f64,
        }
        let since = login_throttle::window_start(attempt.at);
        let known_since = login_throttle::known_since(attempt.at);
        let args = [
            hash(attempt.account),
            text(attempt.source),
            time(attempt.at),
            time(since),
            time(known_since),
            JsValue::from_f64(login_throttle::MAX_FAILURES_PER_SOURCE as f64),
            JsValue::from_f64(login_throttle::MAX_FAILURES_PER_ACCOUNT as f64),
        ];
        // One batch, one transaction: forget what no bound reads, insert the attempt as a
        // failure only if login_throttle::judge would allow it (the same condition, in SQL),
        // and read the history for the Retry-After of a refusal. Each count is an index range.
        let results = self
            .batch(vec![
                self.statement(
                    "DELETE FROM login_attempts WHERE (succeeded = 0 AND at <= ?1) OR (succeeded = 1 AND at <= ?2)",
                    &[time(since), time(known_since)],
                )?,
                self.statement(
                    "INSERT INTO login_attempts (account_hash, source, succeeded, at) SELECT ?1, ?2, 0, ?3 \
                     WHERE (SELECT COUNT(*) FROM login_attempts WHERE source = ?2 AND succeeded = 0 AND at > ?4) < ?6 \
                     AND ((SELECT COUNT(*) FROM login_attempts WHERE account_hash = ?1 AND succeeded = 0 AND at > ?4) < ?7 \
                     OR EXISTS (SELECT 1 FROM login_attempts WHERE account_hash = ?1 AND succeeded = 1 AND source = ?2 AND at > ?5)) \
                     RETURNING id",
                    &args,
                )?,
                self.statement(
                    "SELECT \
                     (SELECT COUNT(*) FROM login_attempts WHERE account_hash = ?1 AND succeeded = 0 AND at > ?3) AS account_failures, \
                     (SELECT MIN(at) FROM login_attempts WHERE account_hash = ?1 AND succeeded = 0 AND at > ?3) AS account_oldest, \
                     (SELECT COUNT(*) FROM login_attempts WHERE source = ?2 AND succeeded = 0 AND at > ?3) AS source_failures, \
                     (SELECT MIN(at) FROM login_attempts WHERE source = ?2 AND succeeded = 0 AND at > ?3) AS source_oldest, \
                     EXISTS (SELECT 1 FROM login_attempts WHERE account_hash = ?1 AND succeeded = 1 AND source = ?2 AND at > ?4) AS source_known",
                    &[hash(attempt.account), text(attempt.source), time(since), time(known_since)],
                )?,
            ])
            .await?;
        if let Some(started) = first_row::<Started>(&results, 1)? {
            return Ok(Ok(started.id as u64));
        }
        let history =
            first_row::<Row>(&results, 2)?.map_or_else(LoginHistory::default, |r| LoginHistory {
                account_failures: r.account_failures as u64,
                account_oldest: r.account_oldest.map(secs),
                source_failures: r.source_failures as u64,
                source_oldest: r.source_oldest.map(secs),
                source_known: r.source_known > 0.0,
            });
        Ok(Err(history))
    }

    async fn login_attempt_succeeded(&self, id: u64) -> Result<(), StoreError> {
        self.run(
            "UPDATE login_attempts SET succeeded = 1 WHERE id = ?1",
            &[JsValue::from_f64(id as f64)],
        )
        .await
    }
}

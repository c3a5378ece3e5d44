//! An in-memory [`ConfigClient`] for tests: holds items, previous evaluations and account data,
//! records every call (and every `PutEvaluations` batch), and can be told to throttle or fail.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::account::{AccountData, IamUserSummary, PasswordPolicy, RootAccount, TrailDescription};
use super::error::PortError;
use super::evaluation::Evaluation;
use super::item::ConfigurationItem;
use super::port::{
    op, BatchGetResult, ConfigClient, PreviousEvaluation, ResourceKey, MAX_BATCH_GET_KEYS,
    MAX_EVALUATIONS_PER_PUT,
};

/// One recorded `PutEvaluations` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutCall {
    /// The evaluations sent.
    pub evaluations: Vec<Evaluation>,
    /// The result token.
    pub result_token: String,
    /// `TestMode`.
    pub test_mode: bool,
}

#[derive(Debug, Default)]
struct State {
    items: BTreeMap<ResourceKey, ConfigurationItem>,
    previous: Vec<PreviousEvaluation>,
    account: AccountData,
    put_calls: Vec<PutCall>,
    calls: Vec<String>,
    throttle: BTreeMap<&'static str, u32>,
    fail: BTreeMap<&'static str, PortError>,
    reject_ids: BTreeSet<String>,
    defer_once: usize,
}

/// The in-memory fake. Operation names are the constants in [`op`].
#[derive(Debug, Default)]
pub struct InMemoryConfigClient {
    state: Mutex<State>,
}

impl InMemoryConfigClient {
    /// An empty fake.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores an item (the current one for its resource).
    pub fn add_item(&self, item: ConfigurationItem) {
        let key = ResourceKey::new(item.resource_type.clone(), item.resource_id.clone());
        self.lock().items.insert(key, item);
    }

    /// Builder form of [`add_item`](Self::add_item).
    pub fn with_item(self, item: ConfigurationItem) -> Self {
        self.add_item(item);
        self
    }

    /// Sets what `GetComplianceDetailsByConfigRule` returns.
    pub fn set_previous_evaluations(&self, previous: Vec<PreviousEvaluation>) {
        self.lock().previous = previous;
    }

    /// Sets the account data (trails, password policy, root, users). A password policy of
    /// `None` or `Some(None)` means "no policy".
    pub fn set_account_data(&self, account: AccountData) {
        self.lock().account = account;
    }

    /// The next `times` calls of `operation` fail with [`PortError::Throttled`].
    pub fn throttle(&self, operation: &'static str, times: u32) {
        self.lock().throttle.insert(operation, times);
    }

    /// Every call of `operation` fails with `error`.
    pub fn fail(&self, operation: &'static str, error: PortError) {
        self.lock().fail.insert(operation, error);
    }

    /// `PutEvaluations` reports evaluations of this resource id as failed.
    pub fn reject_evaluations_for(&self, resource_id: impl Into<String>) {
        self.lock().reject_ids.insert(resource_id.into());
    }

    /// The next `BatchGetResourceConfig` call returns its last `n` keys as unprocessed.
    pub fn defer_keys_once(&self, n: usize) {
        self.lock().defer_once = n;
    }

    /// The recorded `PutEvaluations` calls.
    pub fn put_calls(&self) -> Vec<PutCall> {
        self.lock().put_calls.clone()
    }

    /// Every evaluation sent, in order.
    pub fn put_evaluations_sent(&self) -> Vec<Evaluation> {
        self.lock()
            .put_calls
            .iter()
            .flat_map(|c| c.evaluations.clone())
            .collect()
    }

    /// Every call made, as `"Operation arg"` lines (throttled attempts included).
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    /// How many calls of `operation` were made (throttled attempts included).
    pub fn call_count(&self, operation: &str) -> usize {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.split(' ').next() == Some(operation))
            .count()
    }

    /// Records the call and applies injected throttling/failures.
    fn enter(
        &self,
        operation: &'static str,
        detail: String,
    ) -> Result<MutexGuard<'_, State>, PortError> {
        let mut s = self.lock();
        s.calls.push(if detail.is_empty() {
            operation.to_string()
        } else {
            format!("{operation} {detail}")
        });
        if let Some(e) = s.fail.get(operation) {
            return Err(e.clone());
        }
        if let Some(n) = s.throttle.get_mut(operation) {
            if *n > 0 {
                *n -= 1;
                return Err(PortError::Throttled(format!("{operation}: Rate exceeded")));
            }
        }
        Ok(s)
    }
}

#[async_trait]
impl ConfigClient for InMemoryConfigClient {
    async fn get_resource_config_history(
        &self,
        resource_type: &str,
        resource_id: &str,
        later_time: Option<DateTime<Utc>>,
    ) -> Result<ConfigurationItem, PortError> {
        let s = self.enter(
            op::GET_RESOURCE_CONFIG_HISTORY,
            format!(
                "{resource_type} {resource_id} {}",
                later_time.map(|t| t.to_rfc3339()).unwrap_or_default()
            ),
        )?;
        s.items
            .get(&ResourceKey::new(resource_type, resource_id))
            .cloned()
            .ok_or_else(|| {
                PortError::NotFound(format!(
                    "Resource {resource_id} of resourceType:{resource_type} is unknown or has not been discovered"
                ))
            })
    }

    async fn list_discovered_resources(
        &self,
        resource_type: &str,
    ) -> Result<Vec<String>, PortError> {
        let s = self.enter(op::LIST_DISCOVERED_RESOURCES, resource_type.to_string())?;
        Ok(s.items
            .iter()
            .filter(|(k, i)| k.resource_type == resource_type && !i.status.is_gone())
            .map(|(k, _)| k.resource_id.clone())
            .collect())
    }

    async fn batch_get_resource_config(
        &self,
        keys: &[ResourceKey],
    ) -> Result<BatchGetResult, PortError> {
        let mut s = self.enter(op::BATCH_GET_RESOURCE_CONFIG, keys.len().to_string())?;
        if keys.len() > MAX_BATCH_GET_KEYS {
            return Err(PortError::Service {
                code: "ValidationException".into(),
                message: format!("{} keys, at most {MAX_BATCH_GET_KEYS}", keys.len()),
            });
        }
        let defer = std::mem::take(&mut s.defer_once).min(keys.len());
        let (now, later) = keys.split_at(keys.len() - defer);
        Ok(BatchGetResult {
            items: now
                .iter()
                .filter_map(|k| s.items.get(k).filter(|i| !i.status.is_gone()).cloned())
                .collect(),
            unprocessed: later.to_vec(),
        })
    }

    async fn put_evaluations(
        &self,
        evaluations: &[Evaluation],
        result_token: &str,
        test_mode: bool,
    ) -> Result<Vec<Evaluation>, PortError> {
        let mut s = self.enter(op::PUT_EVALUATIONS, evaluations.len().to_string())?;
        if evaluations.len() > MAX_EVALUATIONS_PER_PUT {
            return Err(PortError::Service {
                code: "ValidationException".into(),
                message: format!(
                    "{} evaluations, at most {MAX_EVALUATIONS_PER_PUT}",
                    evaluations.len()
                ),
            });
        }
        s.put_calls.push(PutCall {
            evaluations: evaluations.to_vec(),
            result_token: result_token.to_string(),
            test_mode,
        });
        Ok(evaluations
            .iter()
            .filter(|e| s.reject_ids.contains(&e.resource_id))
            .cloned()
            .collect())
    }

    async fn get_compliance_details_by_config_rule(
        &self,
        config_rule_name: &str,
    ) -> Result<Vec<PreviousEvaluation>, PortError> {
        let s = self.enter(
            op::GET_COMPLIANCE_DETAILS_BY_CONFIG_RULE,
            config_rule_name.to_string(),
        )?;
        Ok(s.previous.clone())
    }

    async fn describe_trails(&self) -> Result<Vec<TrailDescription>, PortError> {
        let s = self.enter(op::DESCRIBE_TRAILS, String::new())?;
        Ok(s.account.trails.clone().unwrap_or_default())
    }

    async fn get_account_password_policy(&self) -> Result<Option<PasswordPolicy>, PortError> {
        let s = self.enter(op::GET_ACCOUNT_PASSWORD_POLICY, String::new())?;
        Ok(s.account.password_policy.clone().flatten())
    }

    async fn get_root_account(&self) -> Result<RootAccount, PortError> {
        let s = self.enter(op::GET_ACCOUNT_SUMMARY, String::new())?;
        Ok(s.account.root.clone().unwrap_or_default())
    }

    async fn list_iam_users(&self) -> Result<Vec<IamUserSummary>, PortError> {
        let s = self.enter(op::LIST_USERS, String::new())?;
        Ok(s.account.iam_users.clone().unwrap_or_default())
    }
}

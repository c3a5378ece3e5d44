//! trailwarden's domain: everything the Lambda functions and the CLI do, without AWS SDK types.
//!
//! Ports (object store, signer, notifier, config client, resource actuator) are small traits;
//! their AWS SDK implementations live in [`aws`] behind cargo features so that every binary links
//! only the SDK crates it uses.

pub mod config;
pub mod filter;
pub mod rules;
pub mod delivery;
pub mod digest;
pub mod gz;
pub mod layout;
pub mod record;
pub mod remediation;
pub mod runbooks;
pub mod signer;
pub mod store;
pub mod validate;
pub mod notify;

#[cfg(feature = "aws")]
pub mod aws;
pub mod telemetry;

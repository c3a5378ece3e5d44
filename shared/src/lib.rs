//! trailwarden's domain: everything the Lambda functions and the CLI do, without AWS SDK types.
//!
//! Ports (object store, signer, notifier, config client, resource actuator) are small traits;
//! their AWS SDK implementations live in [`aws`] behind cargo features so that every binary links
//! only the SDK crates it uses.

pub mod alarm;
pub mod alerting;
pub mod config;
pub mod delivery;
pub mod digest;
pub mod filter;
pub mod functions;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod gz;
pub mod layout;
pub mod notify;
pub mod record;
pub mod remediation;
pub mod rules;
pub mod runbooks;
pub mod signer;
pub mod store;
pub mod validate;

#[cfg(feature = "aws")]
pub mod aws;
pub mod telemetry;
#[cfg(feature = "testkit")]
pub mod testkit;

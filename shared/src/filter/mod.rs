//! CloudWatch Logs filter patterns (see filter-patterns.md).

//! AWS Config custom-rule events and configuration items.

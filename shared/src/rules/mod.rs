//! The Config rule library: one file per rule, registered in this module.

//! The tamper-evident audit log (to be written).

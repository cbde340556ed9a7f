//! Information demands (to be written).

//! The information demand and its answer (to be written).

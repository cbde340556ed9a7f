//! Every message type of the node protocol (SPEC section 6), and the
//! OpenAPI description generated from them.

pub mod demand;

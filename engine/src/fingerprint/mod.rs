//! Finger minutiae (SPEC section 4): the internal template every format
//! converts to, its local descriptors and the 1:1 matcher.

pub mod cylinder;
pub mod matcher;
mod template;

pub use matcher::{score, Encoded};
pub use template::{Angle, Minutia, MinutiaKind, Template, PPCM_500_PPI};

//! Finger minutiae (SPEC section 4): the internal template every format
//! converts to, its local descriptors, the 1:1 matcher, and 1:N search
//! over a gallery index with a pre-filter.

pub mod cylinder;
pub mod gallery;
pub mod matcher;
pub mod prefilter;
pub mod search;
mod template;

pub use gallery::FingerRecord;
pub use matcher::{score, Cylinders, Encoded};
pub use search::{Candidate, FingerIndex, FingerStats, QueryFinger, SearchParams, DEFAULT_SHORTLIST};
pub use template::{Angle, Minutia, MinutiaKind, Template, PPCM_500_PPI};

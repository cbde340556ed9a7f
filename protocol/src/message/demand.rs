//! The information demand that follows a hit, and everything said about it
//! afterwards (SPEC section 6, "Information demand").
//!
//! A partner's requesting authority sends a [`DemandForm`] (`POST
//! /v1/demands`); the designated authority that holds the record replies with
//! a [`DemandReply`] (`POST /v1/demands/{id}/answer`): the data with optional
//! conditions of use, a refusal on one of four grounds, or a notice that
//! another authority is competent. Where national law requires it, the demand
//! first goes to an authorising body ([`AuthorisationSubmission`],
//! [`AuthorisationDecision`]). The node answers `GET /v1/demands` and `GET
//! /v1/demands/{id}` with [`Demand`] records: the form, where the demand
//! stands, its deadline and its whole history.
//!
//! These are wire types only. Their checks (required fields, sizes, shapes)
//! and the rules of which step may follow which live in [`crate::demand`], so
//! that a value of these types says nothing about being valid.
//!
//! Times are milliseconds since the Unix epoch (UTC), read from the node's
//! [`Clock`](crate::clock::Clock).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A category of the index (SPEC section 2): what a hit was on, and what data
/// a demand asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// DNA profiles.
    Dna,
    /// Fingerprint minutiae templates.
    Fingerprint,
    /// Ballistic signatures of bullets and cartridge cases.
    Ballistic,
    /// Vehicles, by registration plate or VIN.
    Vehicle,
    /// Telephone numbers.
    Phone,
    /// Identity data from a population register.
    Identity,
}

impl Category {
    /// Every category, in the order of SPEC section 2.
    pub const ALL: [Category; 6] = [
        Category::Dna,
        Category::Fingerprint,
        Category::Ballistic,
        Category::Vehicle,
        Category::Phone,
        Category::Identity,
    ];

    /// The name on the wire (`dna`, `fingerprint`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Dna => "dna",
            Category::Fingerprint => "fingerprint",
            Category::Ballistic => "ballistic",
            Category::Vehicle => "vehicle",
            Category::Phone => "phone",
            Category::Identity => "identity",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of [`Category::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown category `{0}`, expected one of dna, fingerprint, ballistic, vehicle, phone, identity")]
pub struct UnknownCategory(pub String);

impl FromStr for Category {
    type Err = UnknownCategory;

    fn from_str(s: &str) -> Result<Category, UnknownCategory> {
        Category::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| UnknownCategory(s.to_owned()))
    }
}

// Written by hand so that a misspelt category is reported as an unknown
// *category* with the list of valid ones, which serde's derived "unknown
// variant" message does not say.
impl<'de> Deserialize<'de> for Category {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Category, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// The hit a demand follows: what the requester's search returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HitReference {
    /// The category of the index that gave the hit.
    pub category: Category,
    /// The record's reference number, unique within its designated authority.
    pub reference: String,
}

/// The authority that asks, as the demand form names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestingAuthority {
    /// Its name.
    pub name: String,
    /// Its postal address.
    pub address: String,
    /// Its country: ISO 3166-1 alpha-2 code, upper case (`FR`, `DE`).
    pub country: String,
    /// Its telephone number, international form (`+33 1 23 45 67 89`).
    pub phone: String,
    /// Its e-mail address.
    pub email: String,
}

/// A person the demand concerns, as far as the requester knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonConcerned {
    /// Family name.
    pub family_name: String,
    /// Given names, if known.
    #[serde(default)]
    pub given_names: Option<String>,
    /// Date of birth, `YYYY-MM-DD`, if known.
    #[serde(default)]
    pub date_of_birth: Option<String>,
}

/// A demand for the data behind a hit (`POST /v1/demands`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DemandForm {
    /// The requester's case reference.
    pub case_reference: String,
    /// The hit the demand follows, if it follows one.
    #[serde(default)]
    pub hit: Option<HitReference>,
    /// The categories of data asked for: at least one, each once.
    pub data_categories: Vec<Category>,
    /// Who asks.
    pub requesting_authority: RequestingAuthority,
    /// The authority that holds the data (as a hit names it, e.g. `DE-BKA`).
    pub designated_authority: String,
    /// The offences concerned: at least one.
    pub offences: Vec<String>,
    /// What the data is for.
    pub purpose: String,
    /// The persons concerned, if their identity is known.
    #[serde(default)]
    pub persons_concerned: Vec<PersonConcerned>,
    /// Whether the data will be used as evidence (which needs a judicial
    /// authorisation before it is released for that use).
    pub use_as_evidence: bool,
}

/// Why released data comes with a condition of use (SPEC section 6: "to
/// protect an ongoing investigation, a source or a person's safety, or the
/// data's confidentiality").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConditionGround {
    /// To protect an ongoing investigation.
    OngoingInvestigation,
    /// To protect a source or a person's safety.
    SourceOrPersonSafety,
    /// To protect the data's confidentiality.
    DataConfidentiality,
}

/// Why a demand is refused: one of four grounds (SPEC section 6: "the same
/// three [as for conditions of use], plus the protection of the fundamental
/// rights of the persons concerned").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefusalGround {
    /// To protect an ongoing investigation.
    OngoingInvestigation,
    /// To protect a source or a person's safety.
    SourceOrPersonSafety,
    /// To protect the data's confidentiality.
    DataConfidentiality,
    /// To protect the fundamental rights of the persons concerned.
    FundamentalRights,
}

/// A condition the requester must respect when using released data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConditionOfUse {
    /// Why the condition is set.
    pub ground: ConditionGround,
    /// The condition, as the designated authority words it.
    pub condition: String,
}

/// The data a designated authority releases.
///
/// The node never holds the personal data itself (SPEC: it answers "who holds
/// the data", never with the data): it keeps the designated authority's answer
/// text and a reference to where the data was delivered. At least one of the
/// two is given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleasedData {
    /// The designated authority's answer, as it wrote it.
    #[serde(default)]
    pub text: Option<String>,
    /// Where the data was delivered: a secure channel's message identifier, a
    /// file reference.
    #[serde(default)]
    pub attachment_reference: Option<String>,
}

/// The designated authority's reply to a demand (`POST
/// /v1/demands/{id}/answer`); `outcome` says which.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case", deny_unknown_fields)]
pub enum DemandReply {
    /// The data, with optional conditions of use.
    Data {
        /// What is released.
        data: ReleasedData,
        /// Conditions of use, if any.
        #[serde(default)]
        conditions: Vec<ConditionOfUse>,
        /// Whether the data is released for use as evidence: allowed only
        /// once a judicial authorisation is granted. When `false` the data
        /// serves the investigation but not as evidence.
        released_for_evidence: bool,
    },
    /// A refusal on one of the four grounds.
    Refusal {
        /// The ground.
        ground: RefusalGround,
        /// An explanation, where giving one does not defeat the ground.
        #[serde(default)]
        explanation: Option<String>,
    },
    /// Another authority is competent: the demand is forwarded to it.
    Forward {
        /// The competent authority.
        competent_authority: String,
        /// A note for the requester.
        #[serde(default)]
        note: Option<String>,
    },
}

/// The designated authority sends a demand to the authorising body, where
/// national law requires prior authorisation or the data is wanted as
/// evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorisationSubmission {
    /// The authorising body (a court, a prosecutor's office).
    pub authorising_body: String,
    /// Whether it is a judicial authority, whose authorisation allows use as
    /// evidence.
    pub judicial: bool,
}

/// The authorising body's decision; `decision` says which.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "decision", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthorisationDecision {
    /// Authorised.
    Granted {
        /// The decision's reference number, if it has one.
        #[serde(default)]
        reference: Option<String>,
    },
    /// Not authorised: the demand is refused.
    Denied {
        /// The ground of the refusal.
        ground: RefusalGround,
        /// An explanation, where giving one does not defeat the ground.
        #[serde(default)]
        explanation: Option<String>,
    },
}

/// Where a demand stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DemandStatus {
    /// With the designated authority, which has 12 hours to reply.
    Received,
    /// With the authorising body, which has 12 hours to decide.
    AwaitingAuthorisation,
    /// Authorised; back with the designated authority, which has 12 hours from
    /// the authorisation to reply.
    Authorised,
    /// Data released (final).
    Answered,
    /// Refused on one of the four grounds (final).
    Refused,
    /// Forwarded to the competent authority (final).
    Forwarded,
}

impl DemandStatus {
    /// Every status.
    pub const ALL: [DemandStatus; 6] = [
        DemandStatus::Received,
        DemandStatus::AwaitingAuthorisation,
        DemandStatus::Authorised,
        DemandStatus::Answered,
        DemandStatus::Refused,
        DemandStatus::Forwarded,
    ];

    /// The name on the wire (`received`, `awaiting_authorisation`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            DemandStatus::Received => "received",
            DemandStatus::AwaitingAuthorisation => "awaiting_authorisation",
            DemandStatus::Authorised => "authorised",
            DemandStatus::Answered => "answered",
            DemandStatus::Refused => "refused",
            DemandStatus::Forwarded => "forwarded",
        }
    }

    /// Whether nothing more can happen to the demand.
    pub fn is_final(self) -> bool {
        matches!(self, DemandStatus::Answered | DemandStatus::Refused | DemandStatus::Forwarded)
    }
}

impl fmt::Display for DemandStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whose turn it is when a deadline runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineStep {
    /// The designated authority must reply.
    Reply,
    /// The authorising body must decide.
    AuthorisationDecision,
}

/// The deadline running on a demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Deadline {
    /// What must happen.
    pub step: DeadlineStep,
    /// By when (inclusive): the demand is overdue from the next millisecond.
    pub due_ms: u64,
}

/// One submission to an authorising body and its decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Authorisation {
    /// The authorising body.
    pub authorising_body: String,
    /// Whether it is a judicial authority.
    pub judicial: bool,
    /// When the demand was submitted to it.
    pub submitted_ms: u64,
    /// Its decision, once made.
    pub decision: Option<AuthorisationDecision>,
    /// When it decided.
    pub decided_ms: Option<u64>,
}

/// How a demand ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Outcome {
    /// When.
    pub at_ms: u64,
    /// Who replied (the designated authority's official, or the authorising
    /// body when it denied authorisation).
    pub by: String,
    /// The reply.
    pub reply: DemandReply,
}

/// What happened to a demand, in one step of its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum DemandAction {
    /// The node received the demand.
    Received,
    /// The designated authority submitted it for authorisation.
    SubmittedForAuthorisation {
        /// To whom.
        submission: AuthorisationSubmission,
    },
    /// The authorising body decided.
    AuthorisationDecided {
        /// The decision.
        decision: AuthorisationDecision,
    },
    /// The designated authority replied.
    Replied {
        /// The reply.
        reply: DemandReply,
    },
}

/// One step of a demand's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DemandEvent {
    /// When.
    pub at_ms: u64,
    /// Who acted: the authority the demand came from, an official, an
    /// authorising body.
    pub actor: String,
    /// The status before (none for the receipt).
    pub from: Option<DemandStatus>,
    /// The status after.
    pub to: DemandStatus,
    /// What happened.
    pub action: DemandAction,
    /// Whether the deadline running before this step had passed.
    pub late: bool,
}

/// A demand as the node keeps it (`GET /v1/demands/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Demand {
    /// The node's identifier of the demand.
    pub id: String,
    /// Where it stands.
    pub status: DemandStatus,
    /// The form as received.
    pub form: DemandForm,
    /// The authority the node received it from: the requesting authority, or
    /// the national contact point that relayed it when the requester could
    /// not reach the designated authority's node (SPEC "Fallback").
    pub received_from: String,
    /// When the node received it.
    pub received_ms: u64,
    /// The deadline running, if the demand is not final.
    pub deadline: Option<Deadline>,
    /// Whether the deadline had passed when the demand was read.
    pub overdue: bool,
    /// Every submission for authorisation, oldest first.
    pub authorisations: Vec<Authorisation>,
    /// How it ended, once final.
    pub outcome: Option<Outcome>,
    /// Every step, oldest first.
    pub history: Vec<DemandEvent>,
}

/// The answer to `GET /v1/demands`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DemandList {
    /// The demands that pass the filter, oldest received first.
    pub demands: Vec<Demand>,
}

/// Which demands to list (the query of `GET /v1/demands`). Every condition
/// given must hold; none given lists all, up to `limit`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DemandFilter {
    /// Only demands in this status.
    #[serde(default)]
    pub status: Option<DemandStatus>,
    /// Only demands addressed to this designated authority.
    #[serde(default)]
    pub designated_authority: Option<String>,
    /// Only demands from a requesting authority of this name.
    #[serde(default)]
    pub requesting_authority: Option<String>,
    /// Only demands from requesting authorities of this country (alpha-2).
    #[serde(default)]
    pub requesting_country: Option<String>,
    /// Only demands received from this authority or contact point.
    #[serde(default)]
    pub received_from: Option<String>,
    /// `true`: only overdue demands; `false`: only demands not overdue.
    #[serde(default)]
    pub overdue: Option<bool>,
    /// Only demands received at or after this time.
    #[serde(default)]
    pub received_since_ms: Option<u64>,
    /// Only demands received before this time.
    #[serde(default)]
    pub received_until_ms: Option<u64>,
    /// At most this many (1 to 1,000; 100 when not given).
    #[serde(default)]
    pub limit: Option<u32>,
}

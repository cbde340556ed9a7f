//! Tests of demands through the public API: the messages on the wire, their
//! checks, every step of the state machine through the store, the deadlines
//! under a manual clock, lists, and the database file across restarts and
//! damage.

use std::path::Path;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{parse_json, DemandError, DemandStore, Policy, Step, DEADLINE_MS};
use crate::clock::{Clock, ManualClock};
use crate::message::demand::*;

/// 2025-10-09T08:53:20Z: any time will do, as long as it is not zero.
const T0: u64 = 1_760_000_000_000;
const HOUR: u64 = 60 * 60 * 1000;

fn form() -> DemandForm {
    DemandForm {
        case_reference: "PJ-2025-0042".into(),
        hit: Some(HitReference { category: Category::Dna, reference: "R9".into() }),
        data_categories: vec![Category::Dna, Category::Identity],
        requesting_authority: RequestingAuthority {
            name: "Police judiciaire, Lyon".into(),
            address: "40 rue Marius Berliet\n69008 Lyon".into(),
            country: "FR".into(),
            phone: "+33 4 78 00 00 00".into(),
            email: "pj-lyon@interieur.gouv.fr".into(),
        },
        designated_authority: "DE-BKA".into(),
        offences: vec!["armed robbery".into()],
        purpose: "Identify the person who left the trace at the scene.".into(),
        persons_concerned: vec![PersonConcerned {
            family_name: "Muster".into(),
            given_names: Some("Max".into()),
            date_of_birth: Some("1980-02-29".into()),
        }],
        use_as_evidence: false,
    }
}

fn evidence_form() -> DemandForm {
    DemandForm { use_as_evidence: true, ..form() }
}

fn data(released_for_evidence: bool) -> DemandReply {
    DemandReply::Data {
        data: ReleasedData {
            text: Some("Record R9 belongs to a person known to us; file sent.".into()),
            attachment_reference: Some("SIENA-2025-77".into()),
        },
        conditions: vec![ConditionOfUse {
            ground: ConditionGround::OngoingInvestigation,
            condition: "Not to be disclosed to the person before 2026-01-01.".into(),
        }],
        released_for_evidence,
    }
}

fn refusal(ground: RefusalGround) -> DemandReply {
    DemandReply::Refusal { ground, explanation: Some("See our letter.".into()) }
}

fn forward() -> DemandReply {
    DemandReply::Forward { competent_authority: "DE-LKA-BW".into(), note: None }
}

/// The authorising bodies of the tests: a judge and a prosecutor.
const JUDGE: &str = "Amtsgericht Wiesbaden";
const PROSECUTOR: &str = "Staatsanwaltschaft Wiesbaden";

fn submission(judicial: bool) -> AuthorisationSubmission {
    let body = if judicial { JUDGE } else { PROSECUTOR };
    AuthorisationSubmission { authorising_body: body.into(), judicial }
}

fn granted() -> AuthorisationDecision {
    AuthorisationDecision::Granted { reference: Some("Gs 12/25".into()) }
}

fn denied() -> AuthorisationDecision {
    AuthorisationDecision::Denied { ground: RefusalGround::FundamentalRights, explanation: None }
}

struct Fixture {
    dir: tempfile::TempDir,
    clock: Arc<ManualClock>,
    store: DemandStore,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture::with_policy(Policy::default())
    }

    fn with_policy(policy: Policy) -> Fixture {
        let dir = tempfile::tempdir().expect("temporary directory");
        let clock = Arc::new(ManualClock::new(T0));
        let store = DemandStore::open_with_policy(dir.path().join("demands.db"), clock.clone(), policy)
            .expect("open a new store");
        Fixture { dir, clock, store }
    }

    fn db(&self) -> std::path::PathBuf {
        self.dir.path().join("demands.db")
    }

    fn create(&self) -> Demand {
        self.store.create(form(), "FR-PJ").expect("create")
    }

    fn reopen(self) -> Fixture {
        let Fixture { dir, clock, store } = self;
        drop(store);
        let store = DemandStore::open(dir.path().join("demands.db"), clock.clone()).expect("reopen");
        Fixture { dir, clock, store }
    }
}

/// A demand in `status`, reached through the store by legal steps.
fn in_status(f: &Fixture, status: DemandStatus) -> Demand {
    let path: &[Step] = match status {
        DemandStatus::Received => &[],
        DemandStatus::AwaitingAuthorisation => &[Step::SubmitForAuthorisation],
        DemandStatus::Authorised => &[Step::SubmitForAuthorisation, Step::GrantAuthorisation],
        DemandStatus::Answered => &[Step::ReleaseData],
        DemandStatus::Refused => &[Step::Refuse],
        DemandStatus::Forwarded => &[Step::Forward],
    };
    let d = path.iter().fold(f.create(), |last, &step| take(f, &last.id, step).expect("legal step"));
    assert_eq!(d.status, status);
    d
}

/// Takes `step` on demand `id` with a payload that is valid for it.
fn take(f: &Fixture, id: &str, step: Step) -> Result<Demand, DemandError> {
    let actor = match step {
        Step::GrantAuthorisation | Step::DenyAuthorisation => JUDGE,
        _ => "DE-BKA",
    };
    match step {
        Step::SubmitForAuthorisation => f.store.submit_for_authorisation(id, actor, submission(true)),
        Step::GrantAuthorisation => f.store.authorise(id, actor, granted()),
        Step::DenyAuthorisation => f.store.authorise(id, actor, denied()),
        Step::ReleaseData => f.store.answer(id, actor, data(false)),
        Step::Refuse => f.store.answer(id, actor, refusal(RefusalGround::OngoingInvestigation)),
        Step::Forward => f.store.answer(id, actor, forward()),
    }
}

fn invalid_fields<T: std::fmt::Debug>(result: Result<T, DemandError>) -> Vec<String> {
    match result {
        Err(DemandError::Invalid(e)) => e.0.into_iter().map(|e| e.field).collect(),
        other => panic!("expected invalid input, got {other:?}"),
    }
}

fn form_faults(edit: impl FnOnce(&mut DemandForm)) -> Vec<String> {
    let mut f = form();
    edit(&mut f);
    invalid_fields(super::validate::validate_form(&f).map_err(DemandError::Invalid))
}

// ---------------------------------------------------------------- messages

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) {
    let json = serde_json::to_string(value).expect("serialise");
    let back: T = serde_json::from_str(&json).expect("deserialise what was serialised");
    assert_eq!(&back, value, "{json}");
}

#[test]
fn every_message_type_round_trips_through_json() {
    round_trip(&form());
    round_trip(&DemandForm { hit: None, persons_concerned: vec![], ..evidence_form() });
    for reply in [
        data(true),
        data(false),
        forward(),
        DemandReply::Forward { competent_authority: "X".into(), note: Some("n".into()) },
    ] {
        round_trip(&reply);
    }
    for ground in [
        RefusalGround::OngoingInvestigation,
        RefusalGround::SourceOrPersonSafety,
        RefusalGround::DataConfidentiality,
        RefusalGround::FundamentalRights,
    ] {
        round_trip(&refusal(ground));
    }
    for ground in [
        ConditionGround::OngoingInvestigation,
        ConditionGround::SourceOrPersonSafety,
        ConditionGround::DataConfidentiality,
    ] {
        round_trip(&ConditionOfUse { ground, condition: "c".into() });
    }
    round_trip(&submission(false));
    round_trip(&granted());
    round_trip(&AuthorisationDecision::Granted { reference: None });
    round_trip(&denied());
    round_trip(&DemandFilter::default());
    round_trip(&DemandFilter {
        status: Some(DemandStatus::AwaitingAuthorisation),
        designated_authority: Some("DE-BKA".into()),
        requesting_authority: Some("Police".into()),
        requesting_country: Some("FR".into()),
        received_from: Some("FR-NCP".into()),
        overdue: Some(true),
        received_since_ms: Some(1),
        received_until_ms: Some(2),
        limit: Some(10),
    });
    for c in Category::ALL {
        round_trip(&c);
    }
    for s in DemandStatus::ALL {
        round_trip(&s);
    }
    // A stored demand carries every output type: deadline, authorisations,
    // outcome, events of each action.
    let f = Fixture::new();
    let d = f.store.create(evidence_form(), "FR-PJ").expect("create");
    round_trip(&d);
    f.store.submit_for_authorisation(&d.id, "DE-BKA", submission(true)).expect("submit");
    f.store.authorise(&d.id, JUDGE, granted()).expect("grant");
    let answered = f.store.answer(&d.id, "DE-BKA", data(true)).expect("answer");
    assert_eq!(answered.history.len(), 4);
    round_trip(&answered);
    round_trip(&DemandList { demands: vec![d, answered] });
}

#[test]
fn wire_names_are_the_documented_ones() {
    for s in DemandStatus::ALL {
        assert_eq!(serde_json::to_string(&s).expect("status"), format!("\"{}\"", s.as_str()));
    }
    for c in Category::ALL {
        assert_eq!(serde_json::to_string(&c).expect("category"), format!("\"{c}\""));
        assert_eq!(c.as_str().parse::<Category>(), Ok(c));
    }
    let grounds = serde_json::to_string(&[
        RefusalGround::OngoingInvestigation,
        RefusalGround::SourceOrPersonSafety,
        RefusalGround::DataConfidentiality,
        RefusalGround::FundamentalRights,
    ])
    .expect("grounds");
    assert_eq!(
        grounds,
        r#"["ongoing_investigation","source_or_person_safety","data_confidentiality","fundamental_rights"]"#
    );
    let reply = serde_json::to_value(refusal(RefusalGround::FundamentalRights)).expect("reply");
    assert_eq!(reply["outcome"], "refusal");
    assert_eq!(reply["ground"], "fundamental_rights");
}

/// Inserts `"surplus": 1` into the object at `pointer` of `value`'s JSON.
fn with_surplus_field<T: Serialize>(value: &T, pointer: &str) -> String {
    let mut json = serde_json::to_value(value).expect("serialise");
    let target = json.pointer_mut(pointer).and_then(|v| v.as_object_mut()).expect("an object there");
    target.insert("surplus".into(), 1.into());
    json.to_string()
}

fn rejects_unknown_field<T: Serialize + DeserializeOwned>(value: &T, pointer: &str) {
    let json = with_surplus_field(value, pointer);
    match parse_json::<T>(json.as_bytes()) {
        Err(DemandError::MalformedJson { message, .. }) => {
            assert!(message.contains("unknown field `surplus`"), "{pointer}: {message}")
        }
        Err(other) => panic!("{pointer}: {other}"),
        Ok(_) => panic!("{pointer}: {json} was accepted"),
    }
    // The same document without the surplus field is accepted, so the
    // refusal above is about that field and nothing else.
    let clean = serde_json::to_string(value).expect("serialise");
    assert!(parse_json::<T>(clean.as_bytes()).is_ok(), "{pointer}: {clean}");
}

#[test]
fn unknown_fields_are_rejected_in_every_input() {
    let form = form();
    for pointer in ["", "/hit", "/requesting_authority", "/persons_concerned/0"] {
        rejects_unknown_field(&form, pointer);
    }
    for pointer in ["", "/data", "/conditions/0"] {
        rejects_unknown_field(&data(false), pointer);
    }
    rejects_unknown_field(&refusal(RefusalGround::SourceOrPersonSafety), "");
    rejects_unknown_field(&forward(), "");
    rejects_unknown_field(&submission(true), "");
    rejects_unknown_field(&granted(), "");
    rejects_unknown_field(&denied(), "");
    rejects_unknown_field(&DemandFilter { limit: Some(5), ..DemandFilter::default() }, "");
}

#[test]
fn unknown_category_is_refused_with_its_name() {
    let mut json = serde_json::to_value(form()).expect("serialise");
    json["data_categories"][1] = "dns".into();
    let err = parse_json::<DemandForm>(json.to_string().as_bytes()).expect_err("unknown category");
    assert_eq!(err.http_status(), 400);
    let message = err.to_string();
    assert!(message.contains("unknown category `dns`"), "{message}");
    assert!(message.contains("dna, fingerprint"), "{message}");

    let mut json = serde_json::to_value(form()).expect("serialise");
    json["hit"]["category"] = "DNA".into();
    let err = parse_json::<DemandForm>(json.to_string().as_bytes()).expect_err("case matters");
    assert!(err.to_string().contains("unknown category `DNA`"), "{err}");
}

#[test]
fn unknown_outcome_or_ground_or_missing_field_is_refused() {
    for (bad, says) in [
        (r#"{"outcome":"maybe"}"#, "unknown variant `maybe`"),
        (r#"{"outcome":"refusal","ground":"politics"}"#, "unknown variant `politics`"),
        // A condition ground that is not a refusal ground... and vice versa.
        (
            r#"{"outcome":"data","data":{"text":"x"},"released_for_evidence":false,
                "conditions":[{"ground":"fundamental_rights","condition":"c"}]}"#,
            "unknown variant `fundamental_rights`",
        ),
        (r#"{"outcome":"data","data":{"text":"x"}}"#, "missing field `released_for_evidence`"),
    ] {
        match parse_json::<DemandReply>(bad.as_bytes()) {
            Err(DemandError::MalformedJson { message, .. }) => assert!(message.contains(says), "{message}"),
            other => panic!("{bad}: {other:?}"),
        }
    }
    let mut json = serde_json::to_value(form()).expect("serialise");
    json.as_object_mut().expect("object").remove("use_as_evidence");
    let err = parse_json::<DemandForm>(json.to_string().as_bytes()).expect_err("missing field");
    assert!(err.to_string().contains("missing field `use_as_evidence`"), "{err}");
}

#[test]
fn malformed_json_names_line_and_column() {
    match parse_json::<DemandForm>(b"{\n  \"case_reference\": \"A\",\n  oops\n}") {
        Err(DemandError::MalformedJson { line, column, .. }) => assert_eq!((line, column), (3, 3)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn openapi_description_has_every_message() {
    #[derive(utoipa::OpenApi)]
    #[openapi(components(schemas(
        DemandForm,
        DemandReply,
        AuthorisationSubmission,
        AuthorisationDecision,
        Demand,
        DemandList,
        DemandFilter
    )))]
    struct Doc;
    let doc = serde_json::to_value(<Doc as utoipa::OpenApi>::openapi()).expect("openapi as JSON");
    let schemas = &doc["components"]["schemas"];
    let form = &schemas["DemandForm"];
    assert_eq!(form["additionalProperties"], false, "{form}");
    let required = form["required"].as_array().expect("required fields");
    for field in ["case_reference", "data_categories", "requesting_authority", "use_as_evidence"] {
        assert!(required.iter().any(|r| r == field), "{field} not required: {form}");
    }
    assert!(!required.iter().any(|r| r == "hit"), "hit is optional");
    let text = doc.to_string();
    for name in ["fundamental_rights", "source_or_person_safety", "awaiting_authorisation", "ballistic"] {
        assert!(text.contains(name), "{name} missing from the OpenAPI description");
    }
}

// -------------------------------------------------------------- validation

#[test]
fn a_complete_form_is_valid() {
    assert_eq!(super::validate::validate_form(&form()), Ok(()));
    let minimal = DemandForm { hit: None, persons_concerned: vec![], ..form() };
    assert_eq!(super::validate::validate_form(&minimal), Ok(()));
}

#[test]
fn each_empty_required_field_is_named() {
    type Edit = fn(&mut DemandForm);
    let cases: [(&str, Edit); 12] = [
        ("case_reference", |f| f.case_reference = String::new()),
        ("hit.reference", |f| f.hit.as_mut().expect("hit").reference = " ".into()),
        ("data_categories", |f| f.data_categories.clear()),
        ("requesting_authority.name", |f| f.requesting_authority.name.clear()),
        ("requesting_authority.address", |f| f.requesting_authority.address = "\n".into()),
        ("requesting_authority.country", |f| f.requesting_authority.country.clear()),
        ("requesting_authority.phone", |f| f.requesting_authority.phone.clear()),
        ("requesting_authority.email", |f| f.requesting_authority.email.clear()),
        ("designated_authority", |f| f.designated_authority.clear()),
        ("offences", |f| f.offences.clear()),
        ("purpose", |f| f.purpose = "   ".into()),
        ("persons_concerned[0].family_name", |f| f.persons_concerned[0].family_name.clear()),
    ];
    for (field, edit) in cases {
        assert_eq!(form_faults(edit), [field]);
    }
    // Optional fields, when given, must not be empty either.
    assert_eq!(
        form_faults(|f| f.persons_concerned[0].given_names = Some(String::new())),
        ["persons_concerned[0].given_names"]
    );
    assert_eq!(form_faults(|f| f.offences.push(String::new())), ["offences[1]"]);
}

#[test]
fn bad_email_is_named() {
    for bad in ["pj-lyon", "pj@lyon", "pj lyon@interieur.gouv.fr", "pj@@interieur.gouv.fr"] {
        let faults = form_faults(|f| f.requesting_authority.email = bad.into());
        assert_eq!(faults, ["requesting_authority.email"], "{bad}");
    }
}

#[test]
fn country_must_have_the_alpha_2_shape() {
    for bad in ["FRA", "fr", "F", "F1", "É1", "250"] {
        let faults = form_faults(|f| f.requesting_authority.country = bad.into());
        assert_eq!(faults, ["requesting_authority.country"], "{bad}");
    }
    for ok in ["DE", "NL", "XK"] {
        assert!(form_faults_or_none(|f| f.requesting_authority.country = ok.into()).is_empty(), "{ok}");
    }
}

fn form_faults_or_none(edit: impl FnOnce(&mut DemandForm)) -> Vec<String> {
    let mut f = form();
    edit(&mut f);
    super::validate::validate_form(&f)
        .err()
        .map(|e| e.0.into_iter().map(|e| e.field).collect())
        .unwrap_or_default()
}

#[test]
fn bad_phone_and_date_of_birth_are_named() {
    assert_eq!(
        form_faults(|f| f.requesting_authority.phone = "04 78 00 00 00".into()),
        ["requesting_authority.phone"]
    );
    assert_eq!(
        form_faults(|f| f.persons_concerned[0].date_of_birth = Some("1981-02-29".into())),
        ["persons_concerned[0].date_of_birth"]
    );
}

#[test]
fn repeated_category_is_named_by_position() {
    assert_eq!(
        form_faults(|f| f.data_categories = vec![Category::Dna, Category::Phone, Category::Dna]),
        ["data_categories[2]"]
    );
}

#[test]
fn oversized_text_is_named_with_its_size() {
    let mut f = form();
    f.purpose = "x".repeat(2001);
    let err = super::validate::validate_form(&f).expect_err("too long");
    assert_eq!(err.0.len(), 1);
    assert_eq!(err.0[0].field, "purpose");
    assert!(err.0[0].problem.contains("2001 bytes"), "{}", err.0[0].problem);
    f.purpose = "x".repeat(2000);
    assert_eq!(super::validate::validate_form(&f), Ok(()));

    assert_eq!(form_faults(|f| f.requesting_authority.name = "n".repeat(201)), ["requesting_authority.name"]);
    assert_eq!(form_faults(|f| f.offences = vec!["theft".into(); 51]), ["offences"]);
    let reply = DemandReply::Data {
        data: ReleasedData { text: Some("x".repeat(64 * 1024 + 1)), attachment_reference: None },
        conditions: vec![],
        released_for_evidence: false,
    };
    assert_eq!(
        invalid_fields(super::validate::validate_reply(&reply).map_err(DemandError::Invalid)),
        ["data.text"]
    );
}

#[test]
fn line_break_in_a_one_line_field_is_named() {
    assert_eq!(form_faults(|f| f.designated_authority = "DE-\nBKA".into()), ["designated_authority"]);
    // The address may span lines.
    assert!(form_faults_or_none(|f| f.requesting_authority.address = "a\nb".into()).is_empty());
}

#[test]
fn every_fault_is_reported_at_once_in_message_order() {
    let faults = form_faults(|f| {
        f.case_reference.clear();
        f.requesting_authority.email = "nope".into();
        f.requesting_authority.country = "france".into();
        f.purpose.clear();
    });
    assert_eq!(
        faults,
        ["case_reference", "requesting_authority.country", "requesting_authority.email", "purpose"]
    );
}

#[test]
fn replies_decisions_and_filters_are_checked() {
    use super::validate::{validate_decision, validate_filter, validate_reply, validate_submission};
    let no_data = DemandReply::Data {
        data: ReleasedData { text: None, attachment_reference: None },
        conditions: vec![],
        released_for_evidence: false,
    };
    let fields = |r: Result<(), super::InvalidInput>| invalid_fields(r.map_err(DemandError::Invalid));
    assert_eq!(fields(validate_reply(&no_data)), ["data"]);
    let empty_condition = DemandReply::Data {
        data: ReleasedData { text: None, attachment_reference: Some("SIENA-1".into()) },
        conditions: vec![ConditionOfUse {
            ground: ConditionGround::DataConfidentiality,
            condition: "".into(),
        }],
        released_for_evidence: false,
    };
    assert_eq!(fields(validate_reply(&empty_condition)), ["conditions[0].condition"]);
    let empty_forward = DemandReply::Forward { competent_authority: "".into(), note: Some("".into()) };
    assert_eq!(fields(validate_reply(&empty_forward)), ["competent_authority", "note"]);
    let empty_explanation =
        DemandReply::Refusal { ground: RefusalGround::FundamentalRights, explanation: Some(" ".into()) };
    assert_eq!(fields(validate_reply(&empty_explanation)), ["explanation"]);
    assert_eq!(
        fields(validate_submission(&AuthorisationSubmission { authorising_body: "".into(), judicial: true })),
        ["authorising_body"]
    );
    assert_eq!(
        fields(validate_decision(&AuthorisationDecision::Granted { reference: Some("".into()) })),
        ["reference"]
    );
    for (filter, field) in [
        (DemandFilter { limit: Some(0), ..DemandFilter::default() }, "limit"),
        (DemandFilter { limit: Some(1001), ..DemandFilter::default() }, "limit"),
        (
            DemandFilter {
                received_since_ms: Some(5),
                received_until_ms: Some(4),
                ..DemandFilter::default()
            },
            "received_until_ms",
        ),
        (
            DemandFilter { requesting_country: Some("fr".into()), ..DemandFilter::default() },
            "requesting_country",
        ),
    ] {
        assert_eq!(fields(validate_filter(&filter)), [field]);
    }
    assert_eq!(validate_filter(&DemandFilter { limit: Some(1000), ..DemandFilter::default() }), Ok(()));
}

#[test]
fn store_refuses_an_invalid_form_and_keeps_nothing() {
    let f = Fixture::new();
    let mut bad = form();
    bad.requesting_authority.email = "x".into();
    let err = f.store.create(bad, "").expect_err("invalid");
    assert_eq!(err.http_status(), 422);
    assert_eq!(invalid_fields::<()>(Err(err)), ["requesting_authority.email", "received_from"]);
    let err = f.store.answer("whatever", "", data(false)).expect_err("no actor");
    assert_eq!(invalid_fields::<()>(Err(err)), ["actor"]);
    assert!(f.store.list(&DemandFilter::default()).expect("list").is_empty());
}

// ------------------------------------------------------------- transitions

#[test]
fn receipt_records_who_and_when_and_starts_the_reply_deadline() {
    let f = Fixture::new();
    let d = f.store.create(form(), "FR-NCP").expect("create");
    assert_eq!(d.id.len(), 32);
    assert_eq!(d.status, DemandStatus::Received);
    assert_eq!(d.received_from, "FR-NCP");
    assert_eq!(d.received_ms, T0);
    assert_eq!(d.deadline, Some(Deadline { step: DeadlineStep::Reply, due_ms: T0 + 12 * HOUR }));
    assert!(!d.overdue);
    assert_eq!(d.form, form());
    assert_eq!(
        d.history,
        [DemandEvent {
            at_ms: T0,
            actor: "FR-NCP".into(),
            from: None,
            to: DemandStatus::Received,
            action: DemandAction::Received,
            late: false,
        }]
    );
    assert_eq!(f.store.get(&d.id).expect("get"), d);
    assert_ne!(f.create().id, d.id);
}

#[test]
fn answer_with_data_from_received() {
    let f = Fixture::new();
    let d = f.create();
    f.clock.advance(HOUR);
    let a = f.store.answer(&d.id, "DE-BKA", data(false)).expect("answer");
    assert_eq!(a.status, DemandStatus::Answered);
    assert_eq!((a.deadline, a.overdue), (None, false));
    assert_eq!(
        a.outcome,
        Some(Outcome { at_ms: T0 + HOUR, by: "DE-BKA".into(), reply: data(false) })
    );
    let last = a.history.last().expect("history");
    assert_eq!(
        (last.from, last.to, last.late),
        (Some(DemandStatus::Received), DemandStatus::Answered, false)
    );
    assert_eq!(last.action, DemandAction::Replied { reply: data(false) });
}

#[test]
fn refusal_on_each_of_the_four_grounds() {
    let f = Fixture::new();
    for ground in [
        RefusalGround::OngoingInvestigation,
        RefusalGround::SourceOrPersonSafety,
        RefusalGround::DataConfidentiality,
        RefusalGround::FundamentalRights,
    ] {
        let d = f.create();
        let r = f.store.answer(&d.id, "DE-BKA", refusal(ground)).expect("refuse");
        assert_eq!(r.status, DemandStatus::Refused);
        assert_eq!(r.outcome.map(|o| o.reply), Some(refusal(ground)));
    }
}

#[test]
fn forward_names_the_competent_authority() {
    let f = Fixture::new();
    let d = in_status(&f, DemandStatus::Forwarded);
    assert_eq!(d.outcome.map(|o| o.reply), Some(forward()));
    assert_eq!(d.deadline, None);
}

#[test]
fn authorisation_granted_then_answered() {
    let f = Fixture::new();
    let d = f.create();
    f.clock.advance(HOUR);
    let w = f.store.submit_for_authorisation(&d.id, "DE-BKA", submission(false)).expect("submit");
    assert_eq!(w.status, DemandStatus::AwaitingAuthorisation);
    assert_eq!(
        w.authorisations,
        [Authorisation {
            authorising_body: PROSECUTOR.into(),
            judicial: false,
            submitted_ms: T0 + HOUR,
            decision: None,
            decided_ms: None,
        }]
    );
    f.clock.advance(HOUR);
    let g = f.store.authorise(&d.id, PROSECUTOR, granted()).expect("grant");
    assert_eq!(g.status, DemandStatus::Authorised);
    assert_eq!(g.authorisations[0].decision, Some(granted()));
    assert_eq!(g.authorisations[0].decided_ms, Some(T0 + 2 * HOUR));
    let a = f.store.answer(&d.id, "DE-BKA", forward()).expect("forward after grant");
    assert_eq!(a.status, DemandStatus::Forwarded);
    let path: Vec<_> = a.history.iter().map(|e| (e.from, e.to, e.actor.as_str())).collect();
    assert_eq!(
        path,
        [
            (None, DemandStatus::Received, "FR-PJ"),
            (Some(DemandStatus::Received), DemandStatus::AwaitingAuthorisation, "DE-BKA"),
            (Some(DemandStatus::AwaitingAuthorisation), DemandStatus::Authorised, PROSECUTOR),
            (Some(DemandStatus::Authorised), DemandStatus::Forwarded, "DE-BKA"),
        ]
    );
}

#[test]
fn authorisation_denied_refuses_on_its_ground() {
    let f = Fixture::new();
    let d = in_status(&f, DemandStatus::AwaitingAuthorisation);
    let r = f.store.authorise(&d.id, JUDGE, denied()).expect("deny");
    assert_eq!(r.status, DemandStatus::Refused);
    assert_eq!(r.deadline, None);
    let outcome = r.outcome.expect("outcome");
    assert_eq!(outcome.by, "Amtsgericht Wiesbaden");
    assert_eq!(
        outcome.reply,
        DemandReply::Refusal { ground: RefusalGround::FundamentalRights, explanation: None }
    );
}

#[test]
fn every_illegal_step_is_refused_and_changes_nothing() {
    let f = Fixture::new();
    let mut refused = 0;
    for status in DemandStatus::ALL {
        for step in Step::ALL {
            if super::machine::next_status(status, step).is_some() {
                continue;
            }
            let d = in_status(&f, status);
            let err = take(&f, &d.id, step).expect_err("illegal step");
            match &err {
                DemandError::IllegalTransition { id, from, step: s } => {
                    assert_eq!((id.as_str(), *from, *s), (d.id.as_str(), status, step))
                }
                other => panic!("{status} / {step}: {other}"),
            }
            assert_eq!(err.http_status(), 409);
            assert_eq!(f.store.get(&d.id).expect("get"), d, "{status} / {step} changed the demand");
            refused += 1;
        }
    }
    // 6 statuses x 6 steps, less the 10 legal pairs.
    assert_eq!(refused, 26);
}

#[test]
fn every_legal_step_is_taken() {
    let f = Fixture::new();
    let mut taken = 0;
    for status in DemandStatus::ALL {
        for step in Step::ALL {
            let Some(to) = super::machine::next_status(status, step) else { continue };
            let d = in_status(&f, status);
            let after = take(&f, &d.id, step).unwrap_or_else(|e| panic!("{status} / {step}: {e}"));
            assert_eq!(after.status, to);
            assert_eq!(after.history.len(), d.history.len() + 1);
            taken += 1;
        }
    }
    assert_eq!(taken, 10);
}

#[test]
fn unknown_id_is_not_found() {
    let f = Fixture::new();
    let results = [
        f.store.get("nope").map(drop),
        f.store.answer("nope", "a", data(false)).map(drop),
        f.store.authorise("nope", "a", granted()).map(drop),
        f.store.submit_for_authorisation("nope", "a", submission(true)).map(drop),
    ];
    for r in results {
        match r {
            Err(e @ DemandError::NotFound { .. }) => assert_eq!(e.http_status(), 404),
            other => panic!("{other:?}"),
        }
    }
}

// ------------------------------------------------------------------ evidence

#[test]
fn evidence_use_without_judicial_authorisation_is_refused() {
    let f = Fixture::new();
    let d = f.store.create(evidence_form(), "FR-PJ").expect("create");
    let err = f.store.answer(&d.id, "DE-BKA", data(true)).expect_err("no authorisation");
    assert!(matches!(err, DemandError::EvidenceWithoutJudicialAuthorisation { .. }), "{err}");
    assert_eq!(err.http_status(), 409);
    // A prosecutor's (non-judicial) authorisation is not enough either.
    f.store.submit_for_authorisation(&d.id, "DE-BKA", submission(false)).expect("submit");
    f.store.authorise(&d.id, PROSECUTOR, granted()).expect("grant");
    let err = f.store.answer(&d.id, "DE-BKA", data(true)).expect_err("not judicial");
    assert!(matches!(err, DemandError::EvidenceWithoutJudicialAuthorisation { .. }), "{err}");
    assert_eq!(f.store.get(&d.id).expect("get").status, DemandStatus::Authorised);
    // A judge's authorisation, asked for after the prosecutor's, is.
    f.store.submit_for_authorisation(&d.id, "DE-BKA", submission(true)).expect("to the judge");
    f.store.authorise(&d.id, JUDGE, granted()).expect("judge grants");
    let a = f.store.answer(&d.id, "DE-BKA", data(true)).expect("released as evidence");
    assert_eq!(a.status, DemandStatus::Answered);
    assert_eq!(a.authorisations.len(), 2);
}

#[test]
fn denied_judicial_authorisation_does_not_count() {
    let f = Fixture::new();
    let d = f.store.create(evidence_form(), "FR-PJ").expect("create");
    f.store.submit_for_authorisation(&d.id, "DE-BKA", submission(false)).expect("submit");
    f.store.authorise(&d.id, PROSECUTOR, granted()).expect("grant");
    f.store.submit_for_authorisation(&d.id, "DE-BKA", submission(true)).expect("to the judge");
    let r = f.store.authorise(&d.id, JUDGE, denied()).expect("judge denies");
    assert_eq!(r.status, DemandStatus::Refused);
    assert!(f.store.answer(&d.id, "DE-BKA", data(true)).is_err());
}

#[test]
fn evidence_demand_may_be_answered_for_intelligence_use_only() {
    let f = Fixture::new();
    let d = f.store.create(evidence_form(), "FR-PJ").expect("create");
    let a = f.store.answer(&d.id, "DE-BKA", data(false)).expect("not for evidence");
    assert_eq!(a.status, DemandStatus::Answered);
}

#[test]
fn prior_authorisation_policy_holds_data_back_until_granted() {
    let f = Fixture::with_policy(Policy { prior_authorisation_required: true });
    let d = f.create();
    let err = f.store.answer(&d.id, "DE-BKA", data(false)).expect_err("needs authorisation");
    assert!(matches!(err, DemandError::AuthorisationRequired { .. }), "{err}");
    assert_eq!(err.http_status(), 409);
    // Refusing or forwarding releases nothing: allowed at once.
    let other = f.create();
    f.store
        .answer(&other.id, "DE-BKA", refusal(RefusalGround::SourceOrPersonSafety))
        .expect("refuse");
    f.store.submit_for_authorisation(&d.id, "DE-BKA", submission(false)).expect("submit");
    f.store.authorise(&d.id, PROSECUTOR, granted()).expect("grant");
    f.store.answer(&d.id, "DE-BKA", data(false)).expect("released once authorised");
}

// ----------------------------------------------------------------- deadlines

#[test]
fn unanswered_demand_becomes_overdue_exactly_after_12_hours() {
    let f = Fixture::new();
    let d = f.create();
    f.clock.set(T0 + DEADLINE_MS);
    assert!(!f.store.get(&d.id).expect("get").overdue, "at exactly 12 h it is still on time");
    f.clock.advance(1);
    let late = f.store.get(&d.id).expect("get");
    assert!(late.overdue);
    assert_eq!(late.deadline.map(|d| d.step), Some(DeadlineStep::Reply));
    // A late answer is stored, marked late, and ends the overdue state.
    let a = f.store.answer(&d.id, "DE-BKA", data(false)).expect("late answer");
    assert!(a.history.last().expect("event").late);
    assert!(!a.overdue);
}

#[test]
fn demand_awaiting_authorisation_becomes_overdue_12_hours_after_submission() {
    let f = Fixture::new();
    let d = f.create();
    f.clock.set(T0 + 11 * HOUR);
    let w = f.store.submit_for_authorisation(&d.id, "DE-BKA", submission(true)).expect("submit");
    assert_eq!(
        w.deadline,
        Some(Deadline { step: DeadlineStep::AuthorisationDecision, due_ms: T0 + 23 * HOUR })
    );
    // The reply deadline (T0 + 12 h) does not run while the court decides.
    f.clock.set(T0 + 12 * HOUR + 1);
    assert!(!f.store.get(&d.id).expect("get").overdue);
    f.clock.set(T0 + 23 * HOUR);
    assert!(!f.store.get(&d.id).expect("get").overdue);
    f.clock.advance(1);
    assert!(f.store.get(&d.id).expect("get").overdue);
    // The grant is late, and gives the designated authority 12 h from now.
    let now = f.clock.now_ms();
    let g = f.store.authorise(&d.id, JUDGE, granted()).expect("grant");
    assert!(g.history.last().expect("event").late);
    assert_eq!(g.deadline, Some(Deadline { step: DeadlineStep::Reply, due_ms: now + DEADLINE_MS }));
    assert!(!g.overdue);
    f.clock.advance(DEADLINE_MS + 1);
    assert!(f.store.get(&d.id).expect("get").overdue);
}

#[test]
fn final_demands_are_never_overdue() {
    let f = Fixture::new();
    let finals: Vec<Demand> = [DemandStatus::Answered, DemandStatus::Refused, DemandStatus::Forwarded]
        .into_iter()
        .map(|s| in_status(&f, s))
        .collect();
    f.clock.advance(1000 * DEADLINE_MS);
    for d in finals {
        let now = f.store.get(&d.id).expect("get");
        assert!(!now.overdue && now.deadline.is_none(), "{}", now.status);
    }
}

// --------------------------------------------------------------------- lists

fn ids(demands: &[Demand]) -> Vec<&str> {
    demands.iter().map(|d| d.id.as_str()).collect()
}

#[test]
fn list_filters_each_and_together() {
    let f = Fixture::new();
    let mut nl = form();
    nl.requesting_authority.country = "NL".into();
    nl.requesting_authority.name = "Politie".into();
    nl.designated_authority = "DE-LKA-BW".into();
    let a = f.create(); // T0, FR, DE-BKA, received
    f.clock.advance(HOUR);
    let b = f.store.create(nl.clone(), "NL-NCP").expect("b"); // T0+1h, NL
    f.clock.advance(HOUR);
    let c = f.create(); // T0+2h, FR
    f.store.answer(&c.id, "DE-BKA", refusal(RefusalGround::DataConfidentiality)).expect("refuse");
    f.clock.advance(HOUR);
    let d = f.store.create(nl, "NL-POL").expect("d"); // T0+3h, NL
    f.store.submit_for_authorisation(&d.id, "DE-LKA-BW", submission(true)).expect("submit");

    let list = |filter: DemandFilter| f.store.list(&filter).expect("list");
    let all = list(DemandFilter::default());
    assert_eq!(ids(&all), [&a.id, &b.id, &c.id, &d.id], "oldest received first");
    let by_status = list(DemandFilter { status: Some(DemandStatus::Received), ..DemandFilter::default() });
    assert_eq!(ids(&by_status), [&a.id, &b.id]);
    let refused = list(DemandFilter { status: Some(DemandStatus::Refused), ..DemandFilter::default() });
    assert_eq!(ids(&refused), [&c.id]);
    let designated =
        list(DemandFilter { designated_authority: Some("DE-LKA-BW".into()), ..DemandFilter::default() });
    assert_eq!(ids(&designated), [&b.id, &d.id]);
    let country = list(DemandFilter { requesting_country: Some("FR".into()), ..DemandFilter::default() });
    assert_eq!(ids(&country), [&a.id, &c.id]);
    let name = list(DemandFilter { requesting_authority: Some("Politie".into()), ..DemandFilter::default() });
    assert_eq!(ids(&name), [&b.id, &d.id]);
    let via = list(DemandFilter { received_from: Some("NL-NCP".into()), ..DemandFilter::default() });
    assert_eq!(ids(&via), [&b.id]);
    let window = list(DemandFilter {
        received_since_ms: Some(T0 + HOUR),
        received_until_ms: Some(T0 + 3 * HOUR),
        ..DemandFilter::default()
    });
    assert_eq!(ids(&window), [&b.id, &c.id], "since inclusive, until exclusive");
    let together = list(DemandFilter {
        requesting_country: Some("NL".into()),
        status: Some(DemandStatus::AwaitingAuthorisation),
        ..DemandFilter::default()
    });
    assert_eq!(ids(&together), [&d.id]);
    let limited = list(DemandFilter { limit: Some(2), ..DemandFilter::default() });
    assert_eq!(ids(&limited), [&a.id, &b.id]);
    let none = list(DemandFilter { designated_authority: Some("PL-CLK".into()), ..DemandFilter::default() });
    assert!(none.is_empty());
    // Each listed demand is the whole demand, history included.
    assert_eq!(all[3], f.store.get(&d.id).expect("get"));
}

#[test]
fn list_overdue_only() {
    let f = Fixture::new();
    let a = f.create(); // reply due T0 + 12 h
    f.clock.advance(2 * HOUR);
    let b = f.create(); // reply due T0 + 14 h
    let c = f.create();
    f.store.answer(&c.id, "DE-BKA", data(false)).expect("answered in time");
    f.clock.set(T0 + 5 * HOUR);
    let d = f.create();
    f.store
        .submit_for_authorisation(&d.id, "DE-BKA", submission(true))
        .expect("decision due T0+17h");

    let overdue = |flag: bool| {
        let filter = DemandFilter { overdue: Some(flag), ..DemandFilter::default() };
        f.store.list(&filter).expect("list")
    };
    f.clock.set(T0 + 12 * HOUR);
    assert!(overdue(true).is_empty(), "nothing overdue at exactly 12 h");
    f.clock.set(T0 + 12 * HOUR + 1);
    assert_eq!(ids(&overdue(true)), [&a.id]);
    assert_eq!(ids(&overdue(false)), [&b.id, &c.id, &d.id]);
    f.clock.set(T0 + 17 * HOUR + 1);
    let late = overdue(true);
    assert_eq!(ids(&late), [&a.id, &b.id, &d.id]);
    assert!(late.iter().all(|d| d.overdue));
    let late_decisions = f
        .store
        .list(&DemandFilter {
            overdue: Some(true),
            status: Some(DemandStatus::AwaitingAuthorisation),
            ..DemandFilter::default()
        })
        .expect("list");
    assert_eq!(ids(&late_decisions), [&d.id]);
}

#[test]
fn invalid_filter_is_refused() {
    let f = Fixture::new();
    let err = f.store.list(&DemandFilter { limit: Some(0), ..DemandFilter::default() }).expect_err("limit 0");
    assert_eq!(err.http_status(), 422);
}

// --------------------------------------------------------------- the file

#[test]
fn demands_and_history_survive_close_and_reopen() {
    let f = Fixture::new();
    let answered = in_status(&f, DemandStatus::Answered);
    let waiting = in_status(&f, DemandStatus::AwaitingAuthorisation);
    let fresh = f.create();
    let before = f.store.list(&DemandFilter::default()).expect("list");
    assert_eq!(before.len(), 3);
    let f = f.reopen();
    assert_eq!(f.store.list(&DemandFilter::default()).expect("list"), before);
    assert_eq!(f.store.get(&answered.id).expect("get"), answered);
    // The state machine carries on where it was.
    let g = f.store.authorise(&waiting.id, JUDGE, granted()).expect("grant after restart");
    assert_eq!(g.history.len(), waiting.history.len() + 1);
    f.clock.advance(DEADLINE_MS + 1);
    let f = f.reopen();
    let overdue =
        f.store.list(&DemandFilter { overdue: Some(true), ..DemandFilter::default() }).expect("list");
    assert_eq!(ids(&overdue), [&waiting.id, &fresh.id]);
    f.store.verify().expect("verify");
}

#[test]
fn the_file_is_in_wal_mode_and_marked_as_a_demand_database() {
    let f = Fixture::new();
    f.create();
    let raw = rusqlite::Connection::open(f.db()).expect("raw open");
    let mode: String = raw.query_row("PRAGMA journal_mode", [], |r| r.get(0)).expect("journal mode");
    assert_eq!(mode, "wal");
    let app: i32 = raw.query_row("PRAGMA application_id", [], |r| r.get(0)).expect("application id");
    assert_eq!(app, 0x4844_4D44);
    let version: i64 = raw.query_row("PRAGMA user_version", [], |r| r.get(0)).expect("version");
    assert_eq!(version, 1);
}

fn open_error(path: &Path) -> DemandError {
    DemandStore::open(path, Arc::new(ManualClock::new(T0))).expect_err("should not open")
}

#[test]
fn a_file_that_is_not_sqlite_is_corrupt_not_a_panic() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "These are not the demands you are looking for.\n".repeat(100)).expect("write");
    let err = open_error(&text);
    assert!(matches!(err, DemandError::Corrupt { .. }), "{err:?}");
    assert_eq!(err.http_status(), 500);
    assert!(err.to_string().contains("not a demand database"), "{err}");

    let random = dir.path().join("random.db");
    let bytes: Vec<u8> = (0..8192u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(&random, bytes).expect("write");
    assert!(matches!(open_error(&random), DemandError::Corrupt { .. }));
}

#[test]
fn another_applications_sqlite_file_is_refused() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("other.db");
    let raw = rusqlite::Connection::open(&path).expect("raw open");
    raw.execute_batch("CREATE TABLE demands (x); INSERT INTO demands VALUES (1);").expect("other schema");
    drop(raw);
    let err = open_error(&path);
    assert!(
        matches!(&err, DemandError::Corrupt { reason, .. } if reason.contains("another application")),
        "{err}"
    );
}

#[test]
fn a_newer_schema_is_refused() {
    let f = Fixture::new();
    let path = f.db();
    drop(f.store);
    let raw = rusqlite::Connection::open(&path).expect("raw open");
    raw.pragma_update(None, "user_version", 2).expect("bump version");
    drop(raw);
    match open_error(&path) {
        DemandError::UnsupportedSchema { found: 2, supported: 1, .. } => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_damaged_record_is_reported_not_panicked_on() {
    let f = Fixture::new();
    let d = f.create();
    let raw = rusqlite::Connection::open(f.db()).expect("raw open");
    raw.execute("UPDATE demands SET record = '{\"form\": 1}' WHERE id = ?1", [&d.id]).expect("damage");
    drop(raw);
    let err = f.store.get(&d.id).expect_err("damaged");
    assert!(matches!(&err, DemandError::Corrupt { reason, .. } if reason.contains(&d.id)), "{err}");
    assert!(matches!(f.store.verify(), Err(DemandError::Corrupt { .. })));
    assert!(f.store.list(&DemandFilter::default()).is_err());
}

#[test]
fn verify_finds_a_status_column_that_disagrees() {
    let f = Fixture::new();
    let d = f.create();
    f.store.verify().expect("healthy");
    let raw = rusqlite::Connection::open(f.db()).expect("raw open");
    raw.execute("UPDATE demands SET status = 'answered' WHERE id = ?1", [&d.id]).expect("damage");
    drop(raw);
    assert!(matches!(f.store.verify(), Err(DemandError::Corrupt { .. })));
}

#[test]
fn the_history_is_append_only() {
    let f = Fixture::new();
    f.create();
    let raw = rusqlite::Connection::open(f.db()).expect("raw open");
    let update = raw.execute("UPDATE demand_events SET actor = 'someone else'", []);
    assert!(update.is_err_and(|e| e.to_string().contains("append-only")));
    assert!(raw.execute("DELETE FROM demand_events", []).is_err());
}

#[test]
fn a_missing_directory_is_a_storage_error() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let err = open_error(&dir.path().join("no/such/dir/demands.db"));
    assert!(matches!(err, DemandError::Storage { .. }), "{err:?}");
}

// ------------------------------------------------------------ concurrency

#[test]
fn the_store_is_shared_between_threads_and_one_answer_wins() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<DemandStore>();
    let f = Fixture::new();
    let d = f.create();
    let store = &f.store;
    let results: Vec<Result<Demand, DemandError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let id = d.id.clone();
                s.spawn(move || store.answer(&id, "DE-BKA", data(false)))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).collect()
    });
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .all(|e| matches!(e, DemandError::IllegalTransition { from: DemandStatus::Answered, .. })));
    assert_eq!(f.store.get(&d.id).expect("get").history.len(), 2);
}

#[test]
fn two_stores_on_one_file_see_each_others_steps() {
    let f = Fixture::new();
    let other = DemandStore::open(f.db(), f.clock.clone()).expect("second connection");
    let d = f.create();
    other.answer(&d.id, "DE-BKA", data(false)).expect("answer through the other");
    let err = f.store.answer(&d.id, "DE-BKA", forward()).expect_err("already answered");
    assert!(matches!(err, DemandError::IllegalTransition { from: DemandStatus::Answered, .. }));
}

#[test]
fn error_codes_and_statuses() {
    let cases: [(DemandError, u16, &str); 4] = [
        (DemandError::MalformedJson { line: 1, column: 1, message: "x".into() }, 400, "malformed_json"),
        (DemandError::NotFound { id: "x".into() }, 404, "not_found"),
        (
            DemandError::IllegalTransition {
                id: "x".into(),
                from: DemandStatus::Answered,
                step: Step::Refuse,
            },
            409,
            "illegal_transition",
        ),
        (DemandError::Corrupt { path: "f".into(), reason: "r".into() }, 500, "storage_corrupt"),
    ];
    for (e, status, code) in cases {
        assert_eq!((e.http_status(), e.code()), (status, code), "{e}");
    }
    let e =
        DemandError::IllegalTransition { id: "abc".into(), from: DemandStatus::Answered, step: Step::Refuse };
    assert_eq!(e.to_string(), "demand `abc` is answered: it cannot be refused");
}

#[test]
fn only_the_designated_authority_replies_and_only_the_awaited_body_decides() {
    let f = Fixture::new();
    let d = f.store.create(form(), "FR-PTS").expect("create");
    for err in [
        f.store.answer(&d.id, "FR-PTS", data(false)).expect_err("the requester cannot answer"),
        f.store.submit_for_authorisation(&d.id, "NL-NFI", submission(true)).expect_err("nor a stranger submit"),
    ] {
        assert_eq!((err.http_status(), err.code()), (403, "forbidden"), "{err}");
    }
    f.store.submit_for_authorisation(&d.id, "DE-BKA", submission(false)).expect("to the prosecutor");
    let err = f.store.authorise(&d.id, JUDGE, granted()).expect_err("the judge was not asked");
    assert!(err.to_string().contains("awaits the decision of Staatsanwaltschaft Wiesbaden"), "{err}");
    f.store.authorise(&d.id, PROSECUTOR, granted()).expect("the prosecutor decides");
    assert_eq!(f.store.authorise(&d.id, PROSECUTOR, granted()).expect_err("decided once").code(), "illegal_transition");
    assert_eq!(f.store.list_for(&DemandFilter::default(), Some("NL-NFI")).expect("list").len(), 0);
    for who in ["FR-PTS", "DE-BKA", PROSECUTOR] {
        assert_eq!(f.store.list_for(&DemandFilter::default(), Some(who)).expect("list").len(), 1, "{who}");
    }
}

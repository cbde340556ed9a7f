//! The states of a demand, the steps between them, and the deadlines.
//!
//! Everything here is a pure function of a status, a step and a time, so the
//! rules can be read and tested without a database; [`DemandStore`] applies
//! them inside its transactions.
//!
//! The two 12-hour deadlines run one after the other, not together: while a
//! demand is with the authorising body only the decision deadline runs, and
//! the designated authority's 12 hours to reply start again from the grant.
//! The designated authority cannot be late because a court took its time.
//!
//! [`DemandStore`]: super::DemandStore

use std::fmt;

use crate::message::demand::{
    Authorisation, AuthorisationDecision, Deadline, DeadlineStep, DemandReply, DemandStatus,
};

use super::{Policy, DEADLINE_MS};

/// A step that moves a demand from one status to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// The designated authority sends it to an authorising body.
    SubmitForAuthorisation,
    /// The authorising body grants authorisation.
    GrantAuthorisation,
    /// The authorising body denies it.
    DenyAuthorisation,
    /// The designated authority releases the data.
    ReleaseData,
    /// The designated authority refuses.
    Refuse,
    /// The designated authority names another, competent authority.
    Forward,
}

impl Step {
    /// Every step.
    pub const ALL: [Step; 6] = [
        Step::SubmitForAuthorisation,
        Step::GrantAuthorisation,
        Step::DenyAuthorisation,
        Step::ReleaseData,
        Step::Refuse,
        Step::Forward,
    ];

    /// The step a reply takes.
    pub fn of_reply(reply: &DemandReply) -> Step {
        match reply {
            DemandReply::Data { .. } => Step::ReleaseData,
            DemandReply::Refusal { .. } => Step::Refuse,
            DemandReply::Forward { .. } => Step::Forward,
        }
    }

    /// The step a decision takes.
    pub fn of_decision(decision: &AuthorisationDecision) -> Step {
        match decision {
            AuthorisationDecision::Granted { .. } => Step::GrantAuthorisation,
            AuthorisationDecision::Denied { .. } => Step::DenyAuthorisation,
        }
    }
}

impl fmt::Display for Step {
    // Worded to complete "the demand is X: it cannot be ...".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::SubmitForAuthorisation => "submitted for authorisation",
            Step::GrantAuthorisation => "granted authorisation",
            Step::DenyAuthorisation => "denied authorisation",
            Step::ReleaseData => "answered with data",
            Step::Refuse => "refused",
            Step::Forward => "forwarded",
        })
    }
}

/// The status `step` leads to from `from`, or `None` when the step is not
/// allowed there.
pub fn next_status(from: DemandStatus, step: Step) -> Option<DemandStatus> {
    use DemandStatus as S;
    // The designated authority acts while the demand is with it: received,
    // or back from the authorising body. Only the authorising body decides,
    // and only while it holds the demand. Final states take no step.
    match (from, step) {
        (S::Received | S::Authorised, Step::SubmitForAuthorisation) => Some(S::AwaitingAuthorisation),
        (S::AwaitingAuthorisation, Step::GrantAuthorisation) => Some(S::Authorised),
        (S::AwaitingAuthorisation, Step::DenyAuthorisation) => Some(S::Refused),
        (S::Received | S::Authorised, Step::ReleaseData) => Some(S::Answered),
        (S::Received | S::Authorised, Step::Refuse) => Some(S::Refused),
        (S::Received | S::Authorised, Step::Forward) => Some(S::Forwarded),
        _ => None,
    }
}

/// The deadline that starts when a demand enters `status` at `at_ms`.
pub fn deadline_on_entering(status: DemandStatus, at_ms: u64) -> Option<Deadline> {
    let step = match status {
        DemandStatus::Received | DemandStatus::Authorised => DeadlineStep::Reply,
        DemandStatus::AwaitingAuthorisation => DeadlineStep::AuthorisationDecision,
        DemandStatus::Answered | DemandStatus::Refused | DemandStatus::Forwarded => return None,
    };
    Some(Deadline { step, due_ms: at_ms.saturating_add(DEADLINE_MS) })
}

/// Whether `deadline` has passed at `now_ms`: the step was due within 12
/// hours, so at exactly 12 hours it is still on time.
pub fn is_overdue(deadline: Option<Deadline>, now_ms: u64) -> bool {
    deadline.is_some_and(|d| now_ms > d.due_ms)
}

/// Whether a judicial body has granted authorisation.
pub fn has_judicial_authorisation(authorisations: &[Authorisation]) -> bool {
    authorisations
        .iter()
        .any(|a| a.judicial && matches!(a.decision, Some(AuthorisationDecision::Granted { .. })))
}

/// Why data may not be released although the status allows a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseBlocked {
    /// Use as evidence asked for without a granted judicial authorisation.
    EvidenceWithoutJudicialAuthorisation,
    /// National law requires prior authorisation and none is granted.
    AuthorisationRequired,
}

/// Checks that data may leave a demand in status `from` (one that
/// [`next_status`] lets answer).
///
/// # Errors
///
/// Which rule forbids it.
pub fn check_release(
    from: DemandStatus,
    authorisations: &[Authorisation],
    released_for_evidence: bool,
    policy: Policy,
) -> Result<(), ReleaseBlocked> {
    // In `authorised` some body has granted authorisation (that is the only
    // way in), which is what prior authorisation asks.
    if policy.prior_authorisation_required && from != DemandStatus::Authorised {
        return Err(ReleaseBlocked::AuthorisationRequired);
    }
    if released_for_evidence && !has_judicial_authorisation(authorisations) {
        return Err(ReleaseBlocked::EvidenceWithoutJudicialAuthorisation);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use DemandStatus as S;

    /// The whole table, written out once more by hand: every pair not listed
    /// here must be refused.
    const LEGAL: [(DemandStatus, Step, DemandStatus); 10] = [
        (S::Received, Step::SubmitForAuthorisation, S::AwaitingAuthorisation),
        (S::Received, Step::ReleaseData, S::Answered),
        (S::Received, Step::Refuse, S::Refused),
        (S::Received, Step::Forward, S::Forwarded),
        (S::AwaitingAuthorisation, Step::GrantAuthorisation, S::Authorised),
        (S::AwaitingAuthorisation, Step::DenyAuthorisation, S::Refused),
        (S::Authorised, Step::SubmitForAuthorisation, S::AwaitingAuthorisation),
        (S::Authorised, Step::ReleaseData, S::Answered),
        (S::Authorised, Step::Refuse, S::Refused),
        (S::Authorised, Step::Forward, S::Forwarded),
    ];

    #[test]
    fn next_status_allows_exactly_the_listed_steps() {
        let mut legal_pairs = 0;
        for from in DemandStatus::ALL {
            for step in Step::ALL {
                let expected = LEGAL.iter().find(|(f, s, _)| *f == from && *s == step).map(|t| t.2);
                assert_eq!(next_status(from, step), expected, "{from} / {step}");
                legal_pairs += usize::from(expected.is_some());
            }
        }
        assert_eq!(legal_pairs, 10);
    }

    #[test]
    fn final_states_take_no_step() {
        for from in DemandStatus::ALL.into_iter().filter(|s| s.is_final()) {
            for step in Step::ALL {
                assert_eq!(next_status(from, step), None, "{from} / {step}");
            }
        }
    }

    #[test]
    fn deadlines_are_twelve_hours_and_final_states_have_none() {
        let t = 1_700_000_000_000;
        let reply = deadline_on_entering(S::Received, t).map(|d| (d.step, d.due_ms));
        assert_eq!(reply, Some((DeadlineStep::Reply, t + 43_200_000)));
        let decision = deadline_on_entering(S::AwaitingAuthorisation, t).map(|d| (d.step, d.due_ms));
        assert_eq!(decision, Some((DeadlineStep::AuthorisationDecision, t + 43_200_000)));
        let after_grant = deadline_on_entering(S::Authorised, t).map(|d| (d.step, d.due_ms));
        assert_eq!(after_grant, Some((DeadlineStep::Reply, t + 43_200_000)));
        for s in [S::Answered, S::Refused, S::Forwarded] {
            assert_eq!(deadline_on_entering(s, t), None);
        }
    }

    #[test]
    fn overdue_only_after_the_due_millisecond() {
        let d = deadline_on_entering(S::Received, 0);
        assert!(!is_overdue(d, DEADLINE_MS));
        assert!(is_overdue(d, DEADLINE_MS + 1));
        assert!(!is_overdue(None, u64::MAX));
    }

    fn authorisation(judicial: bool, decision: Option<AuthorisationDecision>) -> Authorisation {
        Authorisation {
            authorising_body: "Tribunal".into(),
            judicial,
            submitted_ms: 0,
            decided_ms: decision.as_ref().map(|_| 1),
            decision,
        }
    }

    #[test]
    fn evidence_needs_a_granted_judicial_authorisation() {
        let granted = Some(AuthorisationDecision::Granted { reference: None });
        let denied = Some(AuthorisationDecision::Denied {
            ground: crate::message::demand::RefusalGround::FundamentalRights,
            explanation: None,
        });
        let p = Policy::default();
        let blocked = Err(ReleaseBlocked::EvidenceWithoutJudicialAuthorisation);
        assert_eq!(check_release(S::Received, &[], true, p), blocked);
        assert_eq!(check_release(S::Authorised, &[authorisation(false, granted.clone())], true, p), blocked);
        assert_eq!(check_release(S::Authorised, &[authorisation(true, denied)], true, p), blocked);
        assert_eq!(check_release(S::Authorised, &[authorisation(true, None)], true, p), blocked);
        assert_eq!(check_release(S::Authorised, &[authorisation(true, granted)], true, p), Ok(()));
        assert_eq!(check_release(S::Received, &[], false, p), Ok(()));
    }

    #[test]
    fn prior_authorisation_policy_blocks_release_from_received() {
        let p = Policy { prior_authorisation_required: true };
        assert_eq!(check_release(S::Received, &[], false, p), Err(ReleaseBlocked::AuthorisationRequired));
        let granted = Some(AuthorisationDecision::Granted { reference: None });
        assert_eq!(check_release(S::Authorised, &[authorisation(false, granted)], false, p), Ok(()));
    }
}

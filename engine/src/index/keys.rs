//! Candidate keys: why no hit is lost.
//!
//! A key is the genotype of a profile on a *member*: a small set of ESS
//! loci. Every stored profile is posted under each member whose loci are all
//! *keyable* in it (typed, no wildcard). A query probes some members; every
//! stored profile sharing a probed key is a candidate, and candidates are
//! then checked with the exact rules. The members are
//!
//! - three disjoint **blocks** of four loci (very selective), and
//! - [`TRIPLES`], 22 triples such that **every six of the twelve ESS loci
//!   contain at least one triple** (a Turán-type covering; the test
//!   `every_six_loci_contain_a_triple` checks all 924 six-sets).
//!
//! ## The argument
//!
//! Let Q and P be a hit, C the loci typed in both, and A ⊆ C the ESS loci
//! keyable in both. By SPEC section 3 a hit has at most one differing
//! allele, so every locus of C matches except at most one, x. So every
//! locus of A \ {x} matches, and for a member S ⊆ A \ {x}, Q and P have
//! pairing genotypes at every locus of S.
//!
//! 1. *Pairing genotypes give a common key.* A stored allele b is keyed by
//!    `canon(b)`; a query allele a is probed under every token of
//!    `tokens(a) = { canon(b) : b pairs with a }` (see [`canon`]). Integer
//!    alleles have one token, microvariants two or three. If the alleles of
//!    Q pair with those of P (straight or crossed), the sorted token pair of
//!    P is among the sorted token pairs Q probes. Wildcards never enter a
//!    key: a locus with a wildcard is not keyable.
//! 2. *Some probed member lies in A \ {x}.* P's *class* (which loci it has
//!    typed, which ESS loci are keyable) is stored with the shard, and
//!    classes with the same keyable loci K form a *group* (a class typed
//!    at exactly K is a group of its own); the query plans per group, with
//!    A = K ∩ (query's keyable loci) and an upper bound of |C| (the loci
//!    typed in the query and in any class of the group; exact for a
//!    single class). If
//!    the bound is below min-loci no hit is possible. If it equals min-loci
//!    a hit must be full (no x), and the plan probes one member ⊆ A.
//!    Otherwise the plan probes members ⊆ A such that every locus x of A is
//!    avoided by one of them ("no common locus"); a member avoiding x lies
//!    in A \ {x}. If x ∉ A, any member ⊆ A will do. (An upper bound only
//!    ever asks for more members than needed.)
//!    *Half loci.* A query locus typed with one wildcard, `(a, *)`, is
//!    *half*: it pairs fully with a stored genotype exactly when one stored
//!    allele pairs with a. At such a locus the query probes every stored
//!    part with a token of a and any token observed in the shard at that
//!    locus ([`compatible_parts`]; every stored key token is observed), so
//!    a stored genotype that pairs fully shares a probed part, as in 1.
//!    Half loci that are keyable in the group count in A (at a higher
//!    probe cost in [`plan`]); the argument above is unchanged.
//!    *Families.* A profile with only five keyable loci K, or six and a
//!    wildcard or a locus beyond the ESS, is also posted under every 3-set
//!    inside K (the family [`cover`]`(3)`); one typed at exactly six
//!    keyable loci under every 4-set of `cover(5)` inside K, and one with
//!    seven or eight keyable loci and a wildcard or a locus beyond the ESS
//!    (its compared loci can outnumber its keyable ones) under those of
//!    `cover(5)` and of `cover(4)`: for k = 4 or 5, `cover(k)` holds
//!    (k−1)-sets such that every k-set of the twelve loci contains one
//!    (tests check all of them). When no plan of members exists, the query
//!    probes sets of a family of the group for which A has enough loci
//!    ([`family_probes`]): a hit differs at most at one locus x, so every
//!    locus of M = A \ {x} (or of A, if no near match is possible)
//!    matches. For k = 4 or 5, if M has at least k loci it contains a
//!    k-set, hence a set of `cover(k)`, which lies inside A ⊆ K and so was
//!    posted; the query probes every such set inside A. For `cover(3)`,
//!    every 3-set inside M ⊆ K was posted, so the query needs one inside M
//!    for each possible M: one 3-set S inside A if no near match is
//!    possible, otherwise S and, for each x in S, a 3-set inside A \ {x}
//!    (M has at least three loci, so these exist; if x ∉ S, S lies in M).
//! 3. *Otherwise widen, or scan.* When A holds no such members (say the
//!    query has a wildcard at one of seven typed loci), a large class is
//!    probed with *widened* parts instead. Let S be the ESS loci typed in
//!    the query and keyable in the class. At a locus of S the stored part
//!    of a hit lies in [`compatible_parts`] if the locus matches, and in
//!    [`one_off_parts`] if it has one differing allele: each is built from
//!    the query's tokens and the tokens *observed* in the shard at that
//!    locus (a stored key token is always observed). For a member M ⊆ S the
//!    widened probe is the union over x ∈ M of the keys with x's part from
//!    `compatible ∪ one_off` and every other locus' part from `compatible`
//!    (only `compatible` when no near match is possible). A hit differs at
//!    most at one locus x; if x ∈ M its term covers it, otherwise every
//!    term does. Small classes, and classes where no member fits in S, are
//!    scanned with the kernel. So the candidate set always contains every
//!    hit.
//!
//! Plans depend only on (A, whether a near match is possible) and are
//! computed once per process ([`plan`]). Keys are salted with the member
//! and whether the profile is keyable at all twelve loci
//! ([`member_salt`]); the query uses the salt of the group it probes for,
//! so the argument holds per salt.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use crate::dna::{Genotype, ESS_COUNT};

/// ESS loci by canonical index: 0 D3S1358, 1 vWA, 2 D8S1179, 3 D21S11,
/// 4 D18S51, 5 TH01, 6 FGA, 7 D1S1656, 8 D2S441, 9 D10S1248, 10 D12S391,
/// 11 D22S1045. Each block mixes discriminating and common loci.
pub const BLOCKS: [[u8; 4]; 3] = [[0, 4, 6, 8], [1, 7, 9, 10], [2, 3, 5, 11]];

/// Triples covering every six-set of the twelve ESS loci (found by a tabu
/// search; 19 is the best lower bound known to us; checked exhaustively by
/// a test).
pub const TRIPLES: [[u8; 3]; 22] = [
    [0, 3, 8], [0, 4, 10], [0, 5, 10], [0, 6, 10], [0, 9, 11], [1, 2, 3],
    [1, 2, 8], [1, 3, 7], [1, 4, 5], [1, 7, 8], [2, 6, 7], [2, 7, 9],
    [2, 7, 11], [3, 4, 5], [3, 8, 10], [4, 5, 8], [4, 6, 9], [4, 6, 11],
    [5, 6, 9], [5, 6, 11], [8, 9, 11], [9, 10, 11],
];

/// Number of members (blocks, then triples).
pub const MEMBERS: usize = BLOCKS.len() + TRIPLES.len();

/// The plan bit that stands for "probe the family sets inside A" (see
/// point 2 above); bits below 30 name members.
pub const FAMILY: Plan = 1 << 31;
const _: () = assert!(MEMBERS < 30, "plan bits 30 and 31 are reserved");

/// Whether profiles with typed loci `typed` and keyable ESS loci `keyable`
/// are typed at exactly their keyable loci (no wildcard, no locus beyond
/// the ESS).
pub fn is_exact(typed: u32, keyable: u16) -> bool {
    typed == u32::from(keyable)
}

/// The families of extra keys of profiles with keyable loci `keyable` (see
/// point 2 above), `exact` when they are typed at exactly those loci, as
/// the k of [`cover`]`(k)`, largest first: every 3-set (`cover(3)`) for
/// five keyable loci or six when not exact, `cover(5)` for six when exact,
/// `cover(5)` and `cover(4)` for seven or eight when not exact.
pub fn families(keyable: u16, exact: bool) -> &'static [u32] {
    match (keyable.count_ones(), exact) {
        (5, _) | (6, false) => &[3],
        (6, true) => &[5],
        (7..=8, false) => &[5, 4],
        _ => &[],
    }
}

/// The sets of `families(keyable, exact)` inside `keyable`: the family
/// keys a profile is posted under.
pub fn family_inside(keyable: u16, exact: bool) -> impl Iterator<Item = u16> {
    families(keyable, exact).iter().flat_map(|&k| cover(k)).copied().filter(move |&s| s & !keyable == 0)
}

/// The family sets a query probes for a group with keyable loci `keyable`
/// (`exact` as in [`families`]) when A = `a` and a near match is possible
/// or not, from the most selective family for which `a` has enough loci
/// that a hit must share one of its sets (see point 2 above); `None` if
/// there is none. For `cover(k)`, k = 4 or 5, every set inside A; for
/// `cover(3)`, where the profile is posted under every 3-set inside K, the
/// first 3-set inside A and, if a near match is possible, for each of its
/// loci the first 3-set inside A that avoids it (the order of `cover(3)`
/// starts with a small cover of all 5-sets, then of all 4-sets, so that
/// groups with different A mostly probe the same few sets).
pub fn family_probes(keyable: u16, exact: bool, a: u16, near_possible: bool) -> Option<FamilySets> {
    let matching = a.count_ones().checked_sub(u32::from(near_possible))?;
    let k = families(keyable, exact).iter().copied().find(|&k| matching >= k)?;
    // Per A, computed when first needed (no query pays for the whole table):
    // cover(4) and cover(5) sets inside A, then the 3-sets without and with
    // a near match.
    static PROBES: [OnceLock<[FamilySets; 4]>; ALL_ESS as usize + 1] = [const { OnceLock::new() }; ALL_ESS as usize + 1];
    let probes = PROBES[usize::from(a & ALL_ESS)].get_or_init(|| {
        let inside = |k: u32| {
            let mut sets = FamilySets::default();
            for (i, &s) in cover(k).iter().enumerate() {
                if s & !a == 0 {
                    sets.insert(k, i);
                }
            }
            sets
        };
        let first = |avoid: u16| cover(3).iter().position(|&s| s & !a == 0 && s & avoid == 0);
        let threes = |near: bool| {
            let mut sets = FamilySets::default();
            if let Some(i) = first(0) {
                sets.insert(3, i);
                if near {
                    for x in loci(cover(3)[i]) {
                        if let Some(j) = first(1 << x) {
                            sets.insert(3, j);
                        }
                    }
                }
            }
            sets
        };
        [inside(4), inside(5), threes(false), threes(true)]
    });
    Some(match k {
        3 => probes[2 + usize::from(near_possible)],
        _ => probes[k as usize - 4],
    })
}

/// A set of family sets: one bit per set of each family, in the order of
/// [`FamilySets::LAYOUT`] (94 + 143 + 220 bits; `families_are_fixed` and
/// `three_sets_are_ordered` pin the sizes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FamilySets([u64; 8]);

impl FamilySets {
    /// The families (the k of [`cover`]`(k)`) in bit order.
    const LAYOUT: [u32; 3] = [4, 5, 3];

    /// Adds set `i` of `cover(k)`.
    fn insert(&mut self, k: u32, i: usize) {
        let before: usize = Self::LAYOUT.iter().take_while(|&&f| f != k).map(|&f| cover(f).len()).sum();
        let bit = before + i;
        self.0[bit / 64] |= 1 << (bit % 64);
    }

    /// Adds the sets of `other`.
    pub fn add(&mut self, other: &FamilySets) {
        for (w, o) in self.0.iter_mut().zip(other.0) {
            *w |= o;
        }
    }

    /// The sets, as masks over the ESS loci.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        let bits = self.0.iter().enumerate().flat_map(|(w, &word)| ones(word).map(move |b| w * 64 + b));
        bits.filter_map(Self::set_at)
    }

    /// The set that bit `bit` stands for (only [`Self::insert`] sets bits).
    fn set_at(mut bit: usize) -> Option<u16> {
        for &k in &Self::LAYOUT {
            match cover(k).get(bit) {
                Some(&set) => return Some(set),
                None => bit -= cover(k).len(),
            }
        }
        None
    }
}

/// The key salt of a family set (members use their index, below 32).
pub fn family_salt(loci: u16) -> usize {
    1 << 16 | usize::from(loci)
}

/// (k−1)-sets of the twelve ESS loci such that every k-set contains one,
/// for k = 4 or 5, found by a greedy search (the test
/// `covers_are_the_greedy_ones` reruns it; the shard format depends on
/// them: `families_are_fixed` pins them); for k = 3, every 3-set, in the
/// order queries prefer (see [`family_probes`]); empty otherwise.
pub fn cover(k: u32) -> &'static [u16] {
    match k {
        3 => &THREES,
        4 => &COVER4,
        5 => &COVER5,
        _ => &[],
    }
}

/// Every 3-set of the twelve ESS loci: first 49 that cover every 5-set,
/// then 46 that with them cover every 4-set (both found greedily), then
/// the rest ascending. Profiles are posted under all of them that fit, so
/// the order matters only to queries (`three_sets_are_ordered` checks it).
const THREES: [u16; 220] = [
    0x007, 0x038, 0x1c0, 0xe00, 0x049, 0x092, 0x124, 0x20a, 0x411, 0x844, 0x2a0, 0x502,
    0x821, 0x08c, 0x250, 0x908, 0x460, 0x301, 0x414, 0x481, 0x822, 0x890, 0x112, 0x015,
    0x0c2, 0x40c, 0x206, 0x488, 0x803, 0x023, 0x310, 0x04a, 0x205, 0x340, 0x150, 0x484,
    0xa08, 0x181, 0x520, 0x064, 0x182, 0x412, 0x441, 0x091, 0x814, 0x848, 0x904, 0x029,
    0x0c1, 0x10c, 0x230, 0x608, 0x8a0, 0xa80, 0x00b, 0x026, 0x052, 0x094, 0x128, 0x141,
    0x203, 0x260, 0x288, 0x490, 0x809, 0x80a, 0xc10, 0x01c, 0x070, 0x111, 0x142, 0x224,
    0x244, 0x405, 0x422, 0x442, 0x508, 0x680, 0x920, 0xa02, 0xc80, 0x058, 0x085, 0x0a8,
    0x190, 0x211, 0x304, 0x540, 0x806, 0x824, 0x841, 0x122, 0x221, 0x428, 0x501, 0x00d,
    0x00e, 0x013, 0x016, 0x019, 0x01a, 0x025, 0x02a, 0x02c, 0x031, 0x032, 0x034, 0x043,
    0x045, 0x046, 0x04c, 0x051, 0x054, 0x061, 0x062, 0x068, 0x083, 0x086, 0x089, 0x08a,
    0x098, 0x0a1, 0x0a2, 0x0a4, 0x0b0, 0x0c4, 0x0c8, 0x0d0, 0x0e0, 0x103, 0x105, 0x106,
    0x109, 0x10a, 0x114, 0x118, 0x121, 0x130, 0x144, 0x148, 0x160, 0x184, 0x188, 0x1a0,
    0x209, 0x20c, 0x212, 0x214, 0x218, 0x222, 0x228, 0x241, 0x242, 0x248, 0x281, 0x282,
    0x284, 0x290, 0x2c0, 0x302, 0x308, 0x320, 0x380, 0x403, 0x406, 0x409, 0x40a, 0x418,
    0x421, 0x424, 0x430, 0x444, 0x448, 0x450, 0x482, 0x4a0, 0x4c0, 0x504, 0x510, 0x580,
    0x601, 0x602, 0x604, 0x610, 0x620, 0x640, 0x700, 0x805, 0x80c, 0x811, 0x812, 0x818,
    0x828, 0x830, 0x842, 0x850, 0x860, 0x881, 0x882, 0x884, 0x888, 0x8c0, 0x901, 0x902,
    0x910, 0x940, 0x980, 0xa01, 0xa04, 0xa10, 0xa20, 0xa40, 0xb00, 0xc01, 0xc02, 0xc04,
    0xc08, 0xc20, 0xc40, 0xd00,
];

const COVER4: [u16; 94] = [
    0x007, 0x00b, 0x00d, 0x013, 0x015, 0x016, 0x019, 0x02a, 0x034, 0x046, 0x04c, 0x052,
    0x061, 0x070, 0x08a, 0x094, 0x0a1, 0x0a2, 0x0a4, 0x0b0, 0x0c1, 0x0d0, 0x0e0, 0x10a,
    0x10c, 0x121, 0x122, 0x128, 0x141, 0x144, 0x150, 0x181, 0x182, 0x184, 0x190, 0x1c0,
    0x205, 0x209, 0x20c, 0x211, 0x218, 0x222, 0x242, 0x244, 0x260, 0x282, 0x288, 0x302,
    0x304, 0x320, 0x340, 0x406, 0x409, 0x411, 0x418, 0x422, 0x424, 0x442, 0x444, 0x448,
    0x482, 0x484, 0x488, 0x502, 0x504, 0x520, 0x601, 0x604, 0x608, 0x610, 0x680, 0x803,
    0x805, 0x806, 0x811, 0x812, 0x814, 0x828, 0x842, 0x844, 0x848, 0x888, 0x901, 0x910,
    0x920, 0xa02, 0xa20, 0xa40, 0xa80, 0xb00, 0xc08, 0xc20, 0xc40, 0xc80,
];

const COVER5: [u16; 143] = [
    0x00f, 0x033, 0x03c, 0x055, 0x05a, 0x066, 0x069, 0x096, 0x099, 0x0a5, 0x0aa, 0x0b4,
    0x0b8, 0x0c3, 0x0cc, 0x0e4, 0x0e8, 0x0f0, 0x113, 0x11c, 0x123, 0x12c, 0x131, 0x132,
    0x145, 0x14a, 0x154, 0x158, 0x186, 0x189, 0x191, 0x192, 0x1e0, 0x213, 0x21c, 0x223,
    0x22c, 0x231, 0x232, 0x246, 0x249, 0x264, 0x268, 0x285, 0x28a, 0x2a1, 0x2a2, 0x2c4,
    0x2c8, 0x2d0, 0x303, 0x30c, 0x311, 0x312, 0x314, 0x318, 0x321, 0x322, 0x324, 0x328,
    0x330, 0x3c0, 0x415, 0x41a, 0x426, 0x429, 0x443, 0x44c, 0x454, 0x458, 0x461, 0x462,
    0x483, 0x48c, 0x4b0, 0x4c1, 0x4c2, 0x505, 0x50a, 0x514, 0x518, 0x544, 0x548, 0x550,
    0x5a0, 0x606, 0x609, 0x624, 0x628, 0x641, 0x642, 0x660, 0x690, 0x780, 0x816, 0x819,
    0x825, 0x82a, 0x834, 0x838, 0x843, 0x84c, 0x870, 0x883, 0x88c, 0x894, 0x898, 0x8a1,
    0x8a2, 0x8c1, 0x8c2, 0x906, 0x909, 0x911, 0x912, 0x960, 0x984, 0x988, 0x990, 0xa05,
    0xa0a, 0xa21, 0xa22, 0xa50, 0xa81, 0xa82, 0xaa0, 0xb40, 0xc03, 0xc0c, 0xc24, 0xc28,
    0xc30, 0xc41, 0xc42, 0xc81, 0xc82, 0xcc0, 0xd20, 0xe04, 0xe08, 0xe10, 0xf00,
];

/// The members a profile with keyable loci `keyable` is posted under, as
/// (salt, loci).
pub fn members_inside(keyable: u16) -> impl Iterator<Item = (usize, u16)> {
    (0..MEMBERS).filter(move |&m| member_mask(m) & !keyable == 0).map(move |m| (member_salt(m, keyable), member_mask(m)))
}

/// All twelve ESS loci.
pub const ALL_ESS: u16 = (1 << ESS_COUNT) - 1;

/// The key salt of member `m` for a profile with keyable loci `keyable`.
/// Profiles keyable at all twelve ESS loci (most persons) have keys of
/// their own, so that the triples probed for partial profiles do not read
/// the postings of millions of persons (and the other way round). A query
/// probes a member with the salt of the groups whose plan names it.
pub fn member_salt(m: usize, keyable: u16) -> usize {
    if keyable == ALL_ESS {
        m + 32
    } else {
        m
    }
}

/// The loci of a mask over the ESS loci, ascending.
pub fn loci(mask: u16) -> impl Iterator<Item = usize> {
    ones(u64::from(mask & ALL_ESS))
}

/// The set bits of `mask`, ascending (cheap when few are set: planning
/// runs this for every group).
fn ones(mut mask: u64) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        let bit = mask.trailing_zeros();
        mask &= mask.wrapping_sub(1);
        (bit < 64).then_some(bit as usize)
    })
}

/// The loci of member `m` as a bit mask over the ESS loci.
pub fn member_mask(m: usize) -> u16 {
    static MASKS: OnceLock<[u16; MEMBERS]> = OnceLock::new();
    MASKS.get_or_init(|| {
        let mut masks = [0u16; MEMBERS];
        for (i, mask) in masks.iter_mut().enumerate() {
            let loci: &[u8] = if i < BLOCKS.len() { &BLOCKS[i] } else { &TRIPLES[i - BLOCKS.len()] };
            *mask = loci.iter().fold(0, |acc, &l| acc | 1 << l);
        }
        masks
    })[m]
}

/// The loci of member `m`, ascending.
pub fn member_loci(m: usize) -> impl Iterator<Item = usize> {
    loci(member_mask(m))
}

/// Relative cost of probing a member: about 1/0.055 per locus fewer, and
/// about 32 times more for a member with a half locus (its part there is
/// any observed token beside the query's).
fn cost(m: usize, half: u16) -> u32 {
    let base = if m < BLOCKS.len() { 1 } else { 18 };
    if member_mask(m) & half == 0 {
        base
    } else {
        base * 32
    }
}

/// A probe plan: which members to probe, as a bit mask; `0` means scan.
pub type Plan = u32;

/// The plan for a group whose loci keyable in both it and the query are
/// `a`, where a near match is possible or not; with `half` (a locus
/// outside `a`, or none), the plan may also use that locus, keyable in the
/// group and *half* in the query (typed with one wildcard), at a higher
/// probe cost.
pub fn plan(a: u16, half: Option<usize>, near_possible: bool) -> Plan {
    // Plan + 1 per (half locus or none, A, near), computed when first
    // needed (0: not yet), so that no query pays for a whole table.
    static PLANS: [[AtomicU32; 2 << ESS_COUNT]; ESS_COUNT + 1] = [const { [const { AtomicU32::new(0) }; 2 << ESS_COUNT] }; ESS_COUNT + 1];
    let half = half.filter(|&l| l < ESS_COUNT);
    let a = a & ALL_ESS;
    let slot = &PLANS[half.unwrap_or(ESS_COUNT)][usize::from(a) << 1 | usize::from(near_possible)];
    match slot.load(Ordering::Relaxed) {
        0 => {
            let half_mask = half.map_or(0, |l| 1 << l);
            let p = make_plan(a | half_mask, half_mask, near_possible);
            slot.store(p + 1, Ordering::Relaxed);
            p
        }
        stored => stored - 1,
    }
}

fn make_plan(a: u16, half: u16, near_possible: bool) -> Plan {
    let cost = |m: usize| cost(m, half);
    let inside: Vec<usize> = (0..MEMBERS).filter(|&m| member_mask(m) & !a == 0).collect();
    // The members inside A by cost; the first that avoids a locus is the
    // cheapest that does (ties to the lower index).
    let mut by_cost = inside.clone();
    by_cost.sort_by_key(|&m| cost(m));
    let cheapest = |avoid: u16| by_cost.iter().copied().find(|&m| member_mask(m) & avoid == 0);
    let mut best: Option<(u32, Plan)> = None;
    for &first in &inside {
        let mut plan: Plan = 1 << first;
        if near_possible {
            // Every locus of the first member must be avoided by another.
            for x in member_loci(first) {
                match cheapest(1 << x) {
                    Some(m) => plan |= 1 << m,
                    None => {
                        plan = 0;
                        break;
                    }
                }
            }
        }
        if plan == 0 {
            continue;
        }
        let total: u32 = bits(plan).map(cost).sum();
        if best.is_none_or(|(c, _)| total < c) {
            best = Some((total, plan));
        }
    }
    best.map_or(0, |(_, p)| p)
}

/// The members of a plan, ascending.
pub fn bits(plan: Plan) -> impl Iterator<Item = usize> {
    ones(u64::from(plan & ((1 << MEMBERS) - 1)))
}

/// The token a stored allele is keyed by. With repeat unit 4, allele
/// `n.1` is keyed as `n`, `n.3` as `n+1`, and `n` and `n.2` as themselves.
/// Every neighbour pair (positions differing by one, one a microvariant)
/// then shares a token with the query side's [`tokens`].
pub fn canon(b: u8) -> u8 {
    match b & 3 {
        1 => b - 1,
        3 => b.saturating_add(1),
        _ => b,
    }
}

/// The tokens a query allele is probed under: `canon(b)` for every b that
/// pairs with `a`. Without tolerance only `canon(a)`.
pub fn tokens(a: u8, tolerance: bool) -> ([u8; 3], usize) {
    if !tolerance {
        return ([canon(a), 0, 0], 1);
    }
    match a & 3 {
        0 => ([a, 0, 0], 1),
        1 => ([a - 1, a + 1, 0], 2),
        2 => ([a - 2, a, a.saturating_add(2)], 3),
        _ => ([a - 1, a.saturating_add(1), 0], 2),
    }
}

/// A stored locus' key part: its two tokens, sorted.
pub fn stored_part(g: Genotype) -> u16 {
    let [a, b] = g.codes();
    let (x, y) = (canon(a), canon(b));
    let (x, y) = if x <= y { (x, y) } else { (y, x) };
    u16::from(x) << 8 | u16::from(y)
}

/// A query locus' key parts: every sorted pair of tokens (at most 9).
pub fn query_parts(g: Genotype, tolerance: bool) -> Vec<u16> {
    let [a, b] = g.codes();
    let (ta, na) = tokens(a, tolerance);
    let (tb, nb) = tokens(b, tolerance);
    let mut parts = Vec::with_capacity(na * nb);
    for &x in &ta[..na] {
        for &y in &tb[..nb] {
            let (x, y) = if x <= y { (x, y) } else { (y, x) };
            parts.push(u16::from(x) << 8 | u16::from(y));
        }
    }
    parts.sort_unstable();
    parts.dedup();
    parts
}

/// Stored parts at a locus that pair fully with the query genotype `g`,
/// among stored tokens `observed`: the query's own parts if it has no
/// wildcard; with one wildcard `(a, *)`, any part with a token of `a`; with
/// two, any part at all.
pub fn compatible_parts(g: Genotype, observed: &[u8], tolerance: bool) -> Vec<u16> {
    let [a, b] = g.codes();
    let mut parts = match (a == 255, b == 255) {
        (false, false) => query_parts(g, tolerance),
        (false, true) => pairs_with(&tokens_of(a, tolerance), observed),
        _ => pairs_with(observed, observed),
    };
    parts.retain(|p| observed.binary_search(&((p >> 8) as u8)).is_ok() && observed.binary_search(&(*p as u8)).is_ok());
    parts
}

/// Stored parts at a locus with at most one allele differing from `g`: one
/// stored allele pairs with a query allele, the other is anything observed
/// (with a query wildcard, any part at all).
pub fn one_off_parts(g: Genotype, observed: &[u8], tolerance: bool) -> Vec<u16> {
    let [a, b] = g.codes();
    if b == 255 {
        return pairs_with(observed, observed);
    }
    let mut ts = tokens_of(a, tolerance);
    ts.extend(tokens_of(b, tolerance));
    ts.retain(|t| observed.binary_search(t).is_ok());
    pairs_with(&ts, observed)
}

fn tokens_of(a: u8, tolerance: bool) -> Vec<u8> {
    let (t, n) = tokens(a, tolerance);
    t[..n].to_vec()
}

/// Every sorted pair (x, y) with x from `xs` and y from `ys`, as parts.
fn pairs_with(xs: &[u8], ys: &[u8]) -> Vec<u16> {
    let mut parts: Vec<u16> = xs
        .iter()
        .flat_map(|&x| ys.iter().map(move |&y| if x <= y { u16::from(x) << 8 | u16::from(y) } else { u16::from(y) << 8 | u16::from(x) }))
        .collect();
    parts.sort_unstable();
    parts.dedup();
    parts
}

/// The key of a member (`salt` = its index) or family set
/// ([`family_salt`]) given its loci's parts, in locus order.
pub fn key(salt: usize, parts: impl IntoIterator<Item = u16>) -> u64 {
    let packed = parts.into_iter().fold(0u64, |acc, p| acc.rotate_left(16) ^ u64::from(p));
    mix(packed ^ (salt as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// A 64-bit finaliser (splitmix64): keys spread evenly over buckets.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subsets(k: u32) -> impl Iterator<Item = u16> {
        (0u16..1 << ESS_COUNT).filter(move |s| s.count_ones() == k)
    }

    #[test]
    fn every_six_loci_contain_a_triple() {
        let mut sets = 0;
        for s in subsets(6) {
            sets += 1;
            let covered = (BLOCKS.len()..MEMBERS).any(|m| member_mask(m) & !s == 0);
            assert!(covered, "six-set {s:012b} contains no triple");
        }
        assert_eq!(sets, 924);
    }

    /// The covers are what a greedy search finds: the candidate inside
    /// the most sets not yet covered, ties to the smallest.
    #[test]
    fn covers_are_the_greedy_ones() {
        fn greedy_cover(k: u32) -> Vec<u16> {
            let mut uncovered: Vec<u16> = subsets(k).collect();
            let candidates: Vec<u16> = subsets(k - 1).collect();
            let mut chosen = Vec::new();
            while !uncovered.is_empty() {
                let best = candidates
                    .iter()
                    .copied()
                    .max_by_key(|&c| (uncovered.iter().filter(|&&u| c & !u == 0).count(), std::cmp::Reverse(c)))
                    .expect("candidates exist");
                uncovered.retain(|&u| best & !u != 0);
                chosen.push(best);
            }
            chosen.sort_unstable();
            chosen
        }
        assert_eq!(cover(4), greedy_cover(4));
        assert_eq!(cover(5), greedy_cover(5));
    }

    #[test]
    fn families_cover_every_set_they_must() {
        for k in [4, 5] {
            let family = cover(k);
            assert!(family.iter().all(|s| s.count_ones() == k - 1));
            for set in subsets(k) {
                assert!(family.iter().any(|&s| s & !set == 0), "{k}-set {set:012b} contains no set of cover({k})");
            }
        }
    }

    /// Shards store keys of these families: changing them needs a new
    /// shard format version.
    #[test]
    fn families_are_fixed() {
        let digest = |k| cover(k).iter().fold(0u64, |h, &s| h.wrapping_mul(31).wrapping_add(u64::from(s)));
        assert_eq!((cover(4).len(), cover(5).len()), (94, 143), "sizes");
        assert_eq!((digest(4), digest(5)), (13_890_258_510_250_547_458, 4_791_811_348_040_369_833), "digests");
    }

    #[test]
    fn plans_cover_every_locus_that_can_differ() {
        for a in 0u16..1 << ESS_COUNT {
            // No half locus, and the lowest locus outside A as half.
            let outside = !a & ALL_ESS;
            let halves = [None, (outside != 0).then(|| outside.trailing_zeros() as usize)];
            for (near, half) in [false, true].into_iter().flat_map(|n| halves.map(|h| (n, h))) {
                let p = plan(a, half, near);
                let a = a | half.map_or(0, |l| 1 << l);
                let members: Vec<usize> = (0..MEMBERS).filter(|m| p & (1 << m) != 0).collect();
                for &m in &members {
                    assert_eq!(member_mask(m) & !a, 0, "member outside A");
                }
                let needed = a.count_ones() >= if near { 7 } else { 6 };
                if needed {
                    assert!(!members.is_empty(), "no plan for A={a:012b} half={half:?} near={near}");
                }
                if near && !members.is_empty() {
                    for x in 0..ESS_COUNT {
                        assert!(members.iter().any(|&m| member_mask(m) & (1 << x) == 0), "x={x} kills plan {p:b}");
                    }
                }
            }
        }
        // A full query against a full profile needs only two blocks; with
        // a half locus, two blocks that avoid it.
        assert_eq!(plan(0xfff, None, true).count_ones(), 2);
        let with_half = plan(0xffe, Some(0), true);
        assert_eq!(with_half.count_ones(), 2);
        assert!((0..MEMBERS).filter(|m| with_half & (1 << m) != 0).all(|m| member_mask(m) & 1 == 0));
    }

    /// `cover(3)` holds every 3-set once; its first 49 sets cover every
    /// 5-set and its first 95 every 4-set (what makes the probes few).
    #[test]
    fn three_sets_are_ordered() {
        let mut all = cover(3).to_vec();
        all.sort_unstable();
        assert_eq!(all, subsets(3).collect::<Vec<_>>());
        for (k, first) in [(5, 49), (4, 95)] {
            for set in subsets(k) {
                assert!(cover(3)[..first].iter().any(|&s| s & !set == 0), "{k}-set {set:012b}");
            }
        }
    }

    /// Whatever locus differs, a probed family set lies inside the loci of
    /// A that match, and the profile was posted under it.
    #[test]
    fn family_probes_reach_every_hit() {
        let groups = [(0b1_1111, false), (0b11_1111, true), (0b11_1111, false), (0b111_1111, false), (0b1111_1111, false)];
        for (keyable, exact) in groups {
            let posted: Vec<u16> = family_inside(keyable, exact).collect();
            for a in 0u16..1 << ESS_COUNT {
                let a = a & keyable;
                for near in [false, true] {
                    let Some(sets) = family_probes(keyable, exact, a, near) else { continue };
                    let sets: Vec<u16> = sets.iter().collect();
                    let differing: Vec<u16> = if near { loci(a).map(|x| 1 << x).chain([0]).collect() } else { vec![0] };
                    for x in differing {
                        let matching = a & !x;
                        let found = sets.iter().any(|&s| s & !matching == 0 && posted.contains(&s));
                        assert!(found, "K={keyable:012b} exact={exact} A={a:012b} near={near} x={x:012b}");
                    }
                }
            }
        }
    }

    #[test]
    fn pairing_alleles_share_a_token() {
        for a in 8u8..250 {
            for b in 8u8..250 {
                let microvariant = (a | b) & 3 != 0;
                let pairs_tol = a == b || (microvariant && a.abs_diff(b) == 1);
                let (t, n) = tokens(a, true);
                if pairs_tol {
                    assert!(t[..n].contains(&canon(b)), "a={a} b={b}");
                }
                let (t, n) = tokens(a, false);
                if a == b {
                    assert!(t[..n].contains(&canon(b)));
                }
            }
        }
    }
}

//! The pre-filter of 1:N search: locality-sensitive hashing of cylinders.
//!
//! Scoring a probe against every finger of a national gallery costs too
//! much, so the gallery keeps, for each cylinder, [`TABLES`] keys; two
//! cylinders share a key with a probability that grows with the overlap
//! of their set bits (MinHash: a key is [`PER_KEY`] minima of random
//! permutations of the 384 cell bits, so two cylinders with Jaccard
//! similarity J share it with probability J^PER_KEY). Each key of a probe
//! cylinder that meets a key of a gallery cylinder is a vote for the
//! gallery template *and a rotation*: the difference of the two minutiae's
//! directions, in [`ROTATION_BINS`] bins, weighted by how rare the key is
//! in the index (`ln(records / postings)`; the commonest keys are skipped,
//! see [`MIN_KEY_WEIGHT`]). Mated cylinders agree on the
//! rotation, chance meetings spread over all of them, so a template's
//! pre-filter score is its best pair of neighbouring bins, divided by its
//! cylinder count (so big templates do not win by size). Only the
//! best-scored templates go on to the matcher.
//!
//! Keys are stored in the gallery, so the permutations and constants are
//! part of the shard format (a change needs a new format version). The
//! design figures (how similar mated cylinders are, what each step gained)
//! are in `benches/RESULTS.md`.

use std::sync::LazyLock;

use super::cylinder::{Cylinder, ND};

/// Keys per cylinder (hash tables).
pub const TABLES: usize = 32;
/// MinHash values combined in one key.
pub const PER_KEY: usize = 3;
/// Fewest set bits for a cylinder to be hashed (emptier ones say little
/// and collide with every other empty one).
const MIN_SET_BITS: usize = 4;
/// Keys weighing less (held by more than 1/e² ≈ 13.5 % as many postings
/// as there are records) are not read: on 20,000 synthetic fingers they
/// are 5.6 % of a query's keys but 46 % of the postings it would read, and
/// leaving them out changed no rank-1 answer (`benches/RESULTS.md`).
pub const MIN_KEY_WEIGHT: f32 = 2.0;

/// Bins of the rotation between a probe and a gallery template (22.5°).
pub const ROTATION_BINS: usize = 16;

/// A minutia direction (radians, `0..2π`) in 1/256 turn, as postings keep it.
pub fn direction_code(angle: f32) -> u8 {
    ((angle / std::f32::consts::TAU * 256.0) as i32).rem_euclid(256) as u8
}

/// The rotation bin of a gallery direction `gallery` against a probe
/// direction `probe` (both [`direction_code`]s).
pub fn rotation_bin(gallery: u8, probe: u8) -> usize {
    usize::from(gallery.wrapping_sub(probe)) * ROTATION_BINS / 256
}

/// Buckets of the posting table, the same in every shard (keys are
/// folded into them).
pub const BUCKETS: u32 = 1 << 20;
/// Cell bits of a cylinder.
const BITS: usize = ND * 64;

/// `RANKS[t][bit]`: the rank of `bit` in permutation `t`.
static RANKS: LazyLock<Vec<[u16; BITS]>> = LazyLock::new(|| {
    // A fixed xorshift stream: the permutations are part of the format.
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    (0..TABLES * PER_KEY)
        .map(|_| {
            let mut r: [u16; BITS] = std::array::from_fn(|i| i as u16);
            for i in (1..BITS).rev() {
                r.swap(i, (next() % (i as u64 + 1)) as usize);
            }
            r
        })
        .collect()
});

/// Appends the [`TABLES`] keys of `c` to `out` (none for a cylinder with
/// fewer than [`MIN_SET_BITS`] set bits). Keys of different tables never
/// meet: the table is hashed into the key.
pub fn keys(c: &Cylinder, out: &mut Vec<u64>) {
    let mut set = [0u16; BITS];
    let mut n = 0;
    for (w, &bits) in c.bits.iter().enumerate() {
        let mut b = bits & c.mask;
        while b != 0 {
            set[n] = (w * 64) as u16 + b.trailing_zeros() as u16;
            n += 1;
            b &= b - 1;
        }
    }
    if n < MIN_SET_BITS {
        return;
    }
    let set = &set[..n];
    for (t, ranks) in RANKS.chunks_exact(PER_KEY).enumerate() {
        let mut h = (t as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for r in ranks {
            let min = set.iter().map(|&b| r[usize::from(b)]).min().unwrap_or(0);
            h = (h ^ u64::from(min)).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(23);
        }
        out.push(h.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cylinder(seed: u64, density: u32) -> Cylinder {
        let mut s = seed;
        let mut word = || {
            let mut w = 0u64;
            for _ in 0..density {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                w |= 1 << (s % 64);
            }
            w
        };
        Cylinder { bits: std::array::from_fn(|_| word()), mask: !0 }
    }

    #[test]
    fn equal_cylinders_share_every_key_and_unrelated_ones_almost_none() {
        let (a, b) = (cylinder(1, 8), cylinder(2, 8));
        let (mut ka, mut kb) = (Vec::new(), Vec::new());
        keys(&a, &mut ka);
        keys(&a, &mut kb);
        assert_eq!(ka.len(), TABLES);
        assert_eq!(ka, kb);
        kb.clear();
        keys(&b, &mut kb);
        let shared = ka.iter().zip(&kb).filter(|(x, y)| x == y).count();
        assert!(shared <= 1, "{shared}");
    }

    #[test]
    fn an_almost_empty_cylinder_has_no_keys() {
        let mut c = Cylinder { bits: [0; ND], mask: !0 };
        c.bits[0] = 0b111;
        let mut k = Vec::new();
        keys(&c, &mut k);
        assert!(k.is_empty());
        // Bits outside the mask do not count.
        c.bits[1] = 0b1111 << 8;
        c.mask = 0b111;
        keys(&c, &mut k);
        assert!(k.is_empty());
    }
}

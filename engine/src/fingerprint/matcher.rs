//! The 1:1 matcher: a similarity score in `0..=1` between two templates.
//!
//! 1. **Local similarities.** Every cylinder of one template is compared
//!    with every cylinder of the other on the cells valid in both (at least
//!    [`MIN_COMMON_SHARE`] of a cylinder's cells, and minutia directions at
//!    most 90° apart): `1 - ‖a⊕b‖ / (‖a‖ + ‖b‖)`, where ‖·‖ is the square
//!    root of a bit count. Cylinders are rotation and translation
//!    invariant, so this needs no alignment.
//! 2. **Consolidation** (local similarity sort with relaxation, "LSS-R" of
//!    the MCC paper): the best one-to-one pairs are taken greedily; each
//!    pair's similarity is then relaxed for [`RELAXATION_ROUNDS`] rounds
//!    towards the similarities of the pairs geometrically compatible with
//!    it (same distance, same relative directions in both templates), so
//!    pairs that agree with a consistent placement gain and chance pairs
//!    fade. The score is the mean relaxed similarity of the `n_P` pairs
//!    that kept most of their value, `n_P` growing from 4 to 12 with the
//!    smaller template's size.
//!
//! The score is deterministic, symmetric up to floating-point rounding, 1
//! for strong agreement and 0 when no cylinders can be compared.

use super::cylinder::{self, angle_difference, Cylinder, Point};
use crate::kernels::fingerprint::{self as kernel, Counts, Lanes};
use crate::kernels::Level;
use super::template::Template;

/// Fewest cells valid in both cylinders, as a share of the cells within the radius.
pub const MIN_COMMON_SHARE: f32 = 0.6;
/// Rounds of relaxation.
pub const RELAXATION_ROUNDS: usize = 5;
/// Weight of a pair's own similarity in each relaxation round.
const RELAXATION_WEIGHT: f32 = 0.5;
/// Most minutiae of a template that are encoded (the best by quality):
/// encoding and comparing cost grow with the square of the count, and
/// ISO/IEC 19794-2 holds no more in a view.
pub const MAX_MINUTIAE: usize = 255;
/// Similarity classes of the greedy pairing's counting sort.
const SORT_BUCKETS: usize = 512;
/// Fewest and most pairs averaged into the score.
const MIN_PAIRS: usize = 4;
const MAX_PAIRS: usize = 12;

/// A template prepared for matching: its cylinders (in order of direction),
/// their minutiae and the geometry of every pair of those minutiae.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    /// The minutia of each cylinder, by direction.
    pub points: Vec<Point>,
    /// The cylinders, one per point, four abreast for the kernel.
    lanes: Lanes,
    /// `geometry[i * n + k]`: how point `k` lies seen from point `i`;
    /// empty when computed as needed (see [`Encoded::from`]).
    geometry: Vec<Geometry>,
}

/// How one minutia lies seen from another, quantised finely enough for
/// relaxation (whose slopes are pixels and degrees wide) in four bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Geometry {
    /// Distance in 1/[`DISTANCE_STEPS`] pixel (saturating at 8,191 px, far
    /// beyond a finger).
    distance: u16,
    /// Direction of the line towards the other minutia, relative to this
    /// minutia's direction, in 1/65536 turn (so differences wrap by themselves).
    bearing: u16,
}

/// Distance steps per pixel in [`Geometry`].
const DISTANCE_STEPS: f32 = 8.0;
/// Radians per step of a [`Geometry`] bearing.
const BEARING_STEP: f32 = std::f32::consts::TAU / 65536.0;

impl Geometry {
    fn new(p: &Point, q: &Point) -> Geometry {
        Geometry { distance: Geometry::distance(p, q), bearing: Geometry::bearing(p, q) }
    }

    fn distance(p: &Point, q: &Point) -> u16 {
        let (dx, dy) = (q.x - p.x, q.y - p.y);
        ((dx * dx + dy * dy).sqrt() * DISTANCE_STEPS).round().min(f32::from(u16::MAX)) as u16
    }

    fn bearing(p: &Point, q: &Point) -> u16 {
        let bearing = angle_difference(atan2(q.y - p.y, q.x - p.x), p.angle);
        (bearing / BEARING_STEP).round() as i32 as u16
    }
}

/// `y.atan2(x)` within 1.2e-5 radians (an eighth of a [`Geometry`]
/// bearing step), several times faster than the library's: a gallery
/// search recomputes the geometry of every template it scores. A minimax
/// polynomial of the arctangent on `0..=1`, then the octant.
fn atan2(y: f32, x: f32) -> f32 {
    use std::f32::consts::{FRAC_PI_2, PI};
    let (ax, ay) = (x.abs(), y.abs());
    let (lo, hi) = if ax < ay { (ax, ay) } else { (ay, ax) };
    if hi == 0.0 {
        return 0.0;
    }
    let a = lo / hi;
    let s = a * a;
    let mut r = ((((0.0208351 * s - 0.085133) * s + 0.180141) * s - 0.3302995) * s + 0.999866) * a;
    if ay > ax {
        r = FRAC_PI_2 - r;
    }
    if x < 0.0 {
        r = PI - r;
    }
    if y < 0.0 {
        -r
    } else {
        r
    }
}

/// A template's cylinders and their minutiae (sorted by direction), as a
/// gallery stores them: an [`Encoded`] without the pair geometry, which
/// is four bytes per pair of minutiae and cheap to recompute.
#[derive(Debug, Clone, PartialEq)]
pub struct Cylinders {
    /// The minutia of each cylinder, by direction.
    pub points: Vec<Point>,
    /// The cylinders, one per point, four abreast.
    pub lanes: Lanes,
}

impl Cylinders {
    /// The cylinders of a template (the costly part of encoding).
    pub fn new(t: &Template) -> Cylinders {
        let mut all = cylinder::points(t);
        if all.len() > MAX_MINUTIAE {
            // Costs grow with the square of the count: keep the best.
            let mut by_quality: Vec<usize> = (0..all.len()).collect();
            by_quality.sort_by_key(|&i| (std::cmp::Reverse(t.minutiae[i].quality), i));
            by_quality.truncate(MAX_MINUTIAE);
            by_quality.sort_unstable();
            all = by_quality.into_iter().map(|i| all[i]).collect();
        }
        let mut kept: Vec<(Point, Cylinder)> = cylinder::cylinders(&all).into_iter().map(|(i, c)| (all[i], c)).collect();
        // By direction, so that the cylinders within 90° of a direction are
        // one or two runs (ties by position keep the order deterministic).
        kept.sort_by(|(p, _), (q, _)| p.angle.total_cmp(&q.angle).then(p.x.total_cmp(&q.x)).then(p.y.total_cmp(&q.y)));
        let (points, cylinders): (Vec<Point>, Vec<Cylinder>) = kept.into_iter().unzip();
        Cylinders { points, lanes: Lanes::new(&cylinders) }
    }

    /// Cylinders rebuilt from stored parts: `None` unless
    /// [consistent](Self::is_consistent).
    pub fn from_parts(points: Vec<Point>, lanes: Lanes) -> Option<Cylinders> {
        let c = Cylinders { points, lanes };
        c.is_consistent().then_some(c)
    }

    /// Whether this could be an encoding: one cylinder per point, at most
    /// [`MAX_MINUTIAE`], points sorted by direction in `0..2π` at finite
    /// positions.
    pub fn is_consistent(&self) -> bool {
        let p = &self.points;
        let sorted = p.windows(2).all(|w| w[0].angle <= w[1].angle);
        let in_range = p.iter().all(|p| (0.0..std::f32::consts::TAU).contains(&p.angle) && p.x.is_finite() && p.y.is_finite());
        p.len() <= MAX_MINUTIAE && self.lanes.blocks() == p.len().div_ceil(4) && sorted && in_range
    }

    /// Number of cylinders.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
}

/// An encoding that computes the pair geometry as comparisons need it
/// (the same values): cheaper when the template is compared once, as a
/// gallery template in a search is; [`Encoded::new`] computes it all once
/// for templates compared many times.
impl From<Cylinders> for Encoded {
    fn from(c: Cylinders) -> Encoded {
        Encoded { points: c.points, lanes: c.lanes, geometry: Vec::new() }
    }
}

impl Encoded {
    /// Encodes a template (the costly part, done once per template).
    pub fn new(t: &Template) -> Encoded {
        let c = Cylinders::new(t);
        Encoded::assemble(c.points, c.lanes)
    }

    fn assemble(points: Vec<Point>, lanes: Lanes) -> Encoded {
        let geometry = points.iter().flat_map(|p| points.iter().map(move |q| Geometry::new(p, q))).collect();
        Encoded { points, lanes, geometry }
    }

    /// The cylinders, four abreast.
    pub fn lanes(&self) -> &Lanes {
        &self.lanes
    }

    /// Bytes this encoding takes in memory.
    pub fn bytes(&self) -> usize {
        std::mem::size_of::<Encoded>() + self.len() * std::mem::size_of::<Point>() + self.lanes.bytes() + self.geometry.len() * std::mem::size_of::<Geometry>()
    }

    /// Distance from point `i` to point `k`, in 1/[`DISTANCE_STEPS`] pixel.
    #[inline]
    fn distance(&self, i: usize, k: usize) -> u16 {
        match self.geometry.get(i * self.len() + k) {
            Some(g) => g.distance,
            None => Geometry::distance(&self.points[i], &self.points[k]),
        }
    }

    /// Bearing of point `k` seen from point `i`.
    #[inline]
    fn bearing(&self, i: usize, k: usize) -> u16 {
        match self.geometry.get(i * self.len() + k) {
            Some(g) => g.bearing,
            None => Geometry::bearing(&self.points[i], &self.points[k]),
        }
    }

    /// Number of cylinders.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether there is no cylinder to compare.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
}

/// Cells within the radius: the reference for [`MIN_COMMON_SHARE`].
const CELLS_WITHIN_RADIUS: u32 = {
    let delta = 2.0 * cylinder::RADIUS / cylinder::NS as f32;
    let half = (cylinder::NS as f32 - 1.0) / 2.0;
    let mut n = 0;
    let mut cell = 0;
    while cell < cylinder::CELLS {
        let (u, v) = (((cell % cylinder::NS) as f32 - half) * delta, ((cell / cylinder::NS) as f32 - half) * delta);
        if u * u + v * v <= cylinder::RADIUS * cylinder::RADIUS {
            n += 1;
        }
        cell += 1;
    }
    n
};

/// Fewest cells valid in both cylinders for them to be compared.
const MIN_COMMON: u32 = (MIN_COMMON_SHARE * CELLS_WITHIN_RADIUS as f32 + 0.999) as u32;

/// Logistic function `1 / (1 + e^(-τ(v - μ)))`.
fn sigmoid(v: f32, mu: f32, tau: f32) -> f32 {
    1.0 / (1.0 + (-tau * (v - mu)).exp())
}

/// How compatible pair (i1, j1) is with pair (i2, j2) of templates a and
/// b, and the other way round: the two minutiae are as far apart, and
/// turned the same way relative to each other and to the line joining
/// them, in both templates. Distance and turn are the same both ways (bit
/// for bit), the bearings are not. Far outside the sigmoids' slopes the
/// answer is 0 without computing them (below 1e-4 of their product at the
/// cut-offs).
fn compatibilities(a: &Encoded, b: &Encoded, (i1, j1): (usize, usize), (i2, j2): (usize, usize)) -> (f32, f32) {
    use std::f32::consts::PI;
    const CUT: f32 = 0.6;
    let stretch = f32::from(a.distance(i1, i2).abs_diff(b.distance(j1, j2))) / DISTANCE_STEPS;
    if stretch > 12.0 {
        return (0.0, 0.0);
    }
    let turn = angle_difference(angle_difference(a.points[i1].angle, a.points[i2].angle), angle_difference(b.points[j1].angle, b.points[j2].angle)).abs();
    if turn > CUT {
        return (0.0, 0.0);
    }
    let bearing = |(i1, j1): (usize, usize), (i2, j2): (usize, usize)| {
        f32::from((a.bearing(i1, i2).wrapping_sub(b.bearing(j1, j2)) as i16).unsigned_abs()) * BEARING_STEP
    };
    let (forward, backward) = (bearing((i1, j1), (i2, j2)), bearing((i2, j2), (i1, j1)));
    if forward > CUT && backward > CUT {
        return (0.0, 0.0);
    }
    let shared = sigmoid(stretch, 5.0, -8.0 / 5.0) * sigmoid(turn, PI / 12.0, -30.0);
    let one = |bearing: f32| if bearing > CUT { 0.0 } else { shared * sigmoid(bearing, PI / 12.0, -30.0) };
    (one(forward), one(backward))
}

/// The similarity of two encoded templates, `0..=1`.
pub fn score(a: &Encoded, b: &Encoded) -> f32 {
    score_at(kernel::PREFERRED, a, b)
}

/// [`score`] with the kernel at `level` (every level gives the same score).
pub fn score_at(level: Level, a: &Encoded, b: &Encoded) -> f32 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    SCRATCH.with_borrow_mut(|scratch| {
        scratch.sims.clear();
        scratch.counts.resize(b.lanes.blocks() * 4, Counts::default());
        for (i, pa) in a.points.iter().enumerate() {
            let ca = &a.lanes.cylinder(i);
            for run in window(&b.points, pa.angle) {
                let blocks = run.start / 4..run.end.div_ceil(4);
                let out = &mut scratch.counts[blocks.start * 4..blocks.end * 4];
                kernel::counts(level, ca, &b.lanes, blocks.clone(), out);
                for j in run {
                    // At most 90° apart: the directions' unit vectors have a dot product ≥ 0.
                    let (pb, c) = (&b.points[j], out[j - blocks.start * 4]);
                    if pa.dx * pb.dx + pa.dy * pb.dy < 0.0 {
                        continue;
                    }
                    let s = kernel::similarity(c, MIN_COMMON);
                    if s > 0.0 {
                        scratch.sims.push((s, i as u32, j as u32));
                    }
                }
            }
        }
        consolidate(a, b, scratch)
    })
}

/// The runs of `points` (sorted by direction) whose direction may lie
/// within 90° of `angle`: a superset, by a small margin, of those the dot
/// product test keeps. Runs never overlap, so no pair is counted twice.
fn window(points: &[Point], angle: f32) -> [std::ops::Range<usize>; 2] {
    use std::f32::consts::{FRAC_PI_2, TAU};
    const MARGIN: f32 = 1e-3;
    let at = |x: f32| points.partition_point(|p| p.angle < x);
    let (lo, hi) = (angle - FRAC_PI_2 - MARGIN, angle + FRAC_PI_2 + MARGIN);
    if lo < 0.0 {
        let wrapped = at(lo + TAU).max(at(hi));
        [0..at(hi), wrapped..points.len()]
    } else if hi >= TAU {
        let wrapped = at(hi - TAU).min(at(lo));
        [0..wrapped, at(lo)..points.len()]
    } else {
        [at(lo)..at(hi), 0..0]
    }
}

/// Buffers a thread reuses from one comparison to the next.
#[derive(Default)]
struct Scratch {
    counts: Vec<Counts>,
    sims: Vec<(f32, u32, u32)>,
    sorted: Vec<(f32, u32, u32)>,
    used_a: Vec<bool>,
    used_b: Vec<bool>,
    pairs: Vec<(usize, usize, f32)>,
    dense: Vec<f32>,
    rho: Vec<(u32, f32)>,
    rows: Vec<u32>,
    lambda: Vec<f32>,
    next: Vec<f32>,
    order: Vec<usize>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// LSS-R over the non-zero local similarities `(similarity, i, j)` in
/// `scratch.sims`.
fn consolidate(a: &Encoded, b: &Encoded, scratch: &mut Scratch) -> f32 {
    let Scratch { sims, sorted, used_a, used_b, pairs, dense, rho, rows, lambda, next, order, .. } = scratch;
    let (na, nb) = (a.len(), b.len());
    let n_pairs = MIN_PAIRS + (sigmoid(na.min(nb) as f32, 20.0, 0.4) * (MAX_PAIRS - MIN_PAIRS) as f32).round() as usize;
    // Best one-to-one pairs, greedily, in order of similarity to 1/512
    // (a counting sort: stable, so ties keep (i, j) order).
    let bucket = |s: f32| (((1.0 - s) * SORT_BUCKETS as f32) as usize).min(SORT_BUCKETS - 1);
    let mut starts = [0u32; SORT_BUCKETS + 1];
    for &(s, _, _) in sims.iter() {
        starts[bucket(s) + 1] += 1;
    }
    for b in 0..SORT_BUCKETS {
        starts[b + 1] += starts[b];
    }
    sorted.clear();
    sorted.resize(sims.len(), (0.0, 0, 0));
    for &x in sims.iter() {
        let at = &mut starts[bucket(x.0)];
        sorted[*at as usize] = x;
        *at += 1;
    }
    used_a.clear();
    used_a.resize(na, false);
    used_b.clear();
    used_b.resize(nb, false);
    pairs.clear();
    for &(s, i, j) in sorted.iter() {
        let (i, j) = (i as usize, j as usize);
        if !used_a[i] && !used_b[j] {
            used_a[i] = true;
            used_b[j] = true;
            pairs.push((i, j, s));
            if pairs.len() == na.min(nb) {
                break;
            }
        }
    }
    let n = pairs.len();
    if n == 0 {
        return 0.0;
    }
    // Compatibilities, both ways of each pair of pairs at once, then kept
    // sparse: most pairs of pairs are not compatible at all. Row t is
    // rho[rows[t]..rows[t + 1]] as (k, ρ(t, k)).
    dense.clear();
    dense.resize(n * n, 0.0);
    for t in 0..n {
        for k in t + 1..n {
            let ((i1, j1, _), (i2, j2, _)) = (pairs[t], pairs[k]);
            (dense[t * n + k], dense[k * n + t]) = compatibilities(a, b, (i1, j1), (i2, j2));
        }
    }
    rho.clear();
    rows.clear();
    for t in 0..n {
        rows.push(rho.len() as u32);
        rho.extend(dense[t * n..(t + 1) * n].iter().enumerate().filter(|&(_, &c)| c > 0.0).map(|(k, &c)| (k as u32, c)));
    }
    rows.push(rho.len() as u32);
    lambda.clear();
    lambda.extend(pairs.iter().map(|p| p.2));
    next.clear();
    next.resize(n, 0.0);
    for _ in 0..RELAXATION_ROUNDS {
        for t in 0..n {
            let row = &rho[rows[t] as usize..rows[t + 1] as usize];
            let support: f32 = row.iter().map(|&(k, r)| r * lambda[k as usize]).sum();
            next[t] = RELAXATION_WEIGHT * lambda[t] + (1.0 - RELAXATION_WEIGHT) * support / (n - 1).max(1) as f32;
        }
        std::mem::swap(lambda, next);
    }
    // The pairs that kept most of their similarity (ties by pair order).
    let kept = |t: usize| lambda[t] / pairs[t].2;
    order.clear();
    order.extend(0..n);
    order.sort_by(|&x, &y| kept(y).total_cmp(&kept(x)).then(x.cmp(&y)));
    let take = n_pairs.min(n);
    let sum: f32 = order[..take].iter().map(|&t| lambda[t]).sum();
    // Fewer pairs than asked count as zeros: two tiny overlaps are weak evidence.
    sum / n_pairs as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::{Angle, Minutia, MinutiaKind};

    fn template(seed: u64, n: usize) -> Template {
        let mut s = seed;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let minutiae = (0..n).map(|_| Minutia { x: (next() % 300) as u16 + 50, y: (next() % 350) as u16 + 50, angle: Angle::from_degrees((next() % 360) as u32), kind: MinutiaKind::Ending, quality: 50 }).collect();
        Template { width: 400, height: 450, minutiae, ..Template::default() }
    }

    /// `t` turned by `degrees` (counter-clockwise as seen) about (300, 300), then shifted.
    fn moved(t: &Template, dx: f64, dy: f64, degrees: u32) -> Template {
        let (sin, cos) = f64::from(degrees).to_radians().sin_cos();
        let mut m = t.clone();
        for p in &mut m.minutiae {
            // In a y-up frame the turn is the usual one.
            let (x, y) = (f64::from(p.x) - 300.0, 300.0 - f64::from(p.y));
            let (x, y) = (x * cos - y * sin, x * sin + y * cos);
            p.x = (x + 300.0 + dx).round() as u16;
            p.y = (300.0 - y + dy).round() as u16;
            p.angle = Angle::from_units(p.angle.units() + degrees * Angle::PER_DEGREE);
        }
        m
    }

    #[test]
    fn a_template_matches_itself_moved_and_turned_better_than_another() {
        let a = template(7, 40);
        let same = Encoded::new(&a);
        let turned = Encoded::new(&moved(&a, 30.0, 20.0, 30));
        let other = Encoded::new(&template(99, 40));
        let genuine = score(&same, &turned);
        let impostor = score(&same, &other);
        assert!(genuine > 0.5, "{genuine}");
        assert!(impostor < 0.25 * genuine, "{impostor} vs {genuine}");
        assert!(score(&same, &same) > 0.99, "{}", score(&same, &same));
    }

    #[test]
    fn every_kernel_level_gives_the_same_scores() {
        let encoded: Vec<Encoded> = (1..8).map(|seed| Encoded::new(&template(seed, 20 + 5 * seed as usize))).collect();
        for a in &encoded {
            for b in &encoded {
                let reference = score_at(Level::Scalar, a, b);
                for level in crate::kernels::available_levels() {
                    assert_eq!(score_at(level, a, b).to_bits(), reference.to_bits(), "{level:?}");
                }
            }
        }
    }

    #[test]
    fn the_direction_window_holds_every_cylinder_within_90_degrees() {
        for n in [0, 1, 2, 7, 40] {
            let mut points: Vec<Point> = (0..n).map(|i| Point::new(0.0, 0.0, (i as f32 * 2.399_963) % std::f32::consts::TAU)).collect();
            points.sort_by(|p, q| p.angle.total_cmp(&q.angle));
            for step in 0..720 {
                let q = Point::new(0.0, 0.0, step as f32 * std::f32::consts::TAU / 720.0);
                let runs = window(&points, q.angle);
                assert!(runs[0].end <= runs[1].start || runs[1].is_empty() || runs[0].is_empty(), "{runs:?}");
                for (j, p) in points.iter().enumerate() {
                    if q.dx * p.dx + q.dy * p.dy >= 0.0 {
                        assert!(runs.iter().any(|r| r.contains(&j)), "n {n}, angle {}, point {j} at {}: {runs:?}", q.angle, p.angle);
                    }
                }
            }
        }
    }

    #[test]
    fn a_template_with_one_cylinder_does_not_match_everything() {
        // One chance pair with no support must count as little as any
        // unsupported pair.
        // The middle one of three minutiae in a row has two neighbours
        // within reach; the outer ones, 140 px apart, have one each.
        let mut tiny = template(3, 3);
        for (m, x) in tiny.minutiae.iter_mut().zip([130, 200, 270]) {
            (m.x, m.y) = (x, 200);
        }
        let tiny = Encoded::new(&tiny);
        assert_eq!(tiny.len(), 1);
        let genuine = {
            let a = Encoded::new(&template(7, 40));
            score(&a, &Encoded::new(&moved(&template(7, 40), 30.0, 20.0, 30)))
        };
        for seed in 20..40 {
            let s = score(&tiny, &Encoded::new(&template(seed, 40)));
            assert!(s < 0.1 * genuine, "{s} against {genuine}");
        }
    }

    #[test]
    fn geometry_computed_as_needed_gives_the_same_scores() {
        let mut templates: Vec<Template> = (1..5).map(|seed| template(seed, 30)).collect();
        templates.push(moved(&templates[0], 30.0, 20.0, 30));
        let eager: Vec<Encoded> = templates.iter().map(Encoded::new).collect();
        let lazy: Vec<Encoded> = templates.iter().map(|t| Encoded::from(Cylinders::new(t))).collect();
        assert!(score(&eager[0], &eager[4]) > 0.5);
        for i in 0..templates.len() {
            for j in 0..templates.len() {
                let reference = score(&eager[i], &eager[j]).to_bits();
                for (a, b) in [(&eager[i], &lazy[j]), (&lazy[i], &eager[j]), (&lazy[i], &lazy[j])] {
                    assert_eq!(score(a, b).to_bits(), reference, "{i} {j}");
                }
            }
        }
    }

    #[test]
    fn the_fast_arctangent_is_close_to_the_library_one() {
        let mut worst = 0f32;
        for i in 0..2000 {
            for r in [0.5f32, 7.0, 300.0] {
                let t = i as f32 * std::f32::consts::TAU / 2000.0;
                let (y, x) = (r * t.sin(), r * t.cos());
                worst = worst.max(angle_difference(atan2(y, x), y.atan2(x)).abs());
            }
        }
        assert!(worst < 1.2e-5, "{worst}");
        assert_eq!(atan2(0.0, 0.0), 0.0);
        assert!((atan2(0.0, -1.0) - std::f32::consts::PI).abs() < 1e-6);
    }

    #[test]
    fn scores_lie_between_zero_and_one() {
        let encoded: Vec<Encoded> = (1..6).map(|seed| Encoded::new(&template(seed, 30))).collect();
        for a in &encoded {
            for b in &encoded {
                let s = score(a, b);
                assert!((0.0..=1.0).contains(&s), "{s}");
            }
        }
    }

    #[test]
    fn only_the_best_minutiae_of_a_huge_template_are_encoded() {
        let mut t = template(5, 600);
        for (k, m) in t.minutiae.iter_mut().enumerate() {
            m.quality = (k % 100) as u8;
        }
        let e = Encoded::new(&t);
        assert!(e.len() <= MAX_MINUTIAE);
        assert!(e.len() > 100, "{}", e.len());
    }

    #[test]
    fn empty_templates_score_zero() {
        let a = Encoded::new(&template(1, 30));
        let empty = Encoded::new(&Template::default());
        assert_eq!(score(&a, &empty), 0.0);
        assert_eq!(score(&empty, &a), 0.0);
    }
}

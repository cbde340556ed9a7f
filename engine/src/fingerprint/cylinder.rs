//! Local descriptors: one Minutia Cylinder-Code per minutia, as bits.
//!
//! The design is the binary Minutia Cylinder-Code (Cappelli, Maio and
//! Maltoni, "Minutia Cylinder-Code: a new representation and matching
//! technique for fingerprint recognition", IEEE TPAMI 32(12), 2010). Around
//! each minutia m a cylinder of radius [`RADIUS`] is laid in m's own frame
//! (centred on it, rotated by its direction), so it does not change when
//! the finger is moved or turned. Its base is cut into [`NS`]×[`NS`] square
//! cells and its height, the direction difference −π..π, into [`ND`]
//! sections. A cell's bit says whether other minutiae lie near the cell
//! centre with a direction (relative to m's) near the section's: the sum of
//! a spatial Gaussian and an integrated directional Gaussian over the
//! neighbours, against a threshold.
//!
//! A cell counts only where a neighbour could have been seen: within the
//! radius and inside the convex hull of all minutiae, enlarged by
//! [`HULL_MARGIN`]. The valid cells form a mask; a cylinder with too few
//! valid cells or too few neighbours says little and is dropped.
//!
//! Comparing two cylinders is then bit arithmetic on the cells valid in
//! both (see [`super::matcher`]). Each direction section is one `u64` of
//! `NS·NS` cells, row by row; the mask is one more.

use std::f32::consts::PI;

use super::template::Template;

/// Cells along each side of the cylinder base.
pub const NS: usize = 8;
/// Direction sections.
pub const ND: usize = 6;
/// Cells in one direction section: one `u64`, bit `row * NS + column`.
pub const CELLS: usize = NS * NS;
const _: () = assert!(CELLS == 64, "a direction section is one u64");

/// Cylinder radius in pixels (at 500 ppi).
pub const RADIUS: f32 = 70.0;
/// Spatial spread of a neighbour's contribution, pixels.
const SIGMA_S: f32 = 28.0 / 3.0;
/// Directional spread of a neighbour's contribution, radians.
const SIGMA_D: f32 = 2.0 * PI / 9.0;
/// A cell's bit is set when the summed contribution exceeds this.
const THRESHOLD: f32 = 0.01;
/// Pixels by which the minutiae's convex hull is enlarged for validity.
pub const HULL_MARGIN: f32 = 50.0;
/// Fewest valid cells (share of those within the radius) for a cylinder to count.
const MIN_VALID_SHARE: f32 = 0.75;
/// Fewest neighbours within reach for a cylinder to count.
const MIN_NEIGHBOURS: usize = 2;

/// A minutia as the matcher sees it: position in pixels (y up), direction
/// in radians (`0..2π`, counter-clockwise as seen on the image) and as a
/// unit vector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Pixels from the left.
    pub x: f32,
    /// Pixels from the top, negated.
    pub y: f32,
    /// Direction, radians in `0..2π`.
    pub angle: f32,
    /// Cosine of the direction.
    pub dx: f32,
    /// Sine of the direction.
    pub dy: f32,
}

impl Point {
    /// The point at (x, y) with direction `angle`.
    pub fn new(x: f32, y: f32, angle: f32) -> Point {
        let (dy, dx) = angle.sin_cos();
        Point { x, y, angle, dx, dy }
    }
}

/// One minutia's cylinder: its bits and the mask of its valid cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cylinder {
    /// Cell bits, one word per direction section.
    pub bits: [u64; ND],
    /// Valid cells (the same for every section).
    pub mask: u64,
}

/// The difference `a - b` of two angles, in `-π..π`.
pub fn angle_difference(a: f32, b: f32) -> f32 {
    let d = a - b;
    if d < -PI {
        d + 2.0 * PI
    } else if d >= PI {
        d - 2.0 * PI
    } else {
        d
    }
}

/// The template's minutiae as points. Image y grows downwards, so an angle
/// counter-clockwise as seen on the image turns from +x towards −y; the
/// points use a y-up frame (`-y`) so that angles and atan2 agree.
pub fn points(t: &Template) -> Vec<Point> {
    t.minutiae.iter().map(|m| Point::new(f32::from(m.x), -f32::from(m.y), m.angle.radians() as f32)).collect()
}

/// The cylinders of `points` that count, with the index of their minutia.
pub fn cylinders(points: &[Point]) -> Vec<(usize, Cylinder)> {
    let hull = Hull::of(points);
    let delta_s = 2.0 * RADIUS / NS as f32;
    let delta_d = 2.0 * PI / ND as f32;
    let reach = RADIUS + 3.0 * SIGMA_S;
    let mut out = Vec::new();
    for (i, m) in points.iter().enumerate() {
        let (sin, cos) = m.angle.sin_cos();
        let neighbours: Vec<&Point> = points.iter().enumerate().filter(|&(j, p)| j != i && (p.x - m.x).powi(2) + (p.y - m.y).powi(2) <= reach * reach).map(|(_, p)| p).collect();
        if neighbours.len() < MIN_NEIGHBOURS {
            continue;
        }
        // A neighbour's directional contribution to each section does not
        // depend on the cell: computed once per neighbour.
        let directions: Vec<[f32; ND]> = neighbours
            .iter()
            .map(|p| {
                let relative = angle_difference(m.angle, p.angle);
                std::array::from_fn(|k| directional(angle_difference(-PI + (k as f32 + 0.5) * delta_d, relative), delta_d))
            })
            .collect();
        let mut c = Cylinder { bits: [0; ND], mask: 0 };
        let (mut inside, mut valid) = (0, 0);
        for row in 0..NS {
            for col in 0..NS {
                // Cell centre in the minutia's frame, then in the image's.
                let u = (col as f32 - (NS as f32 - 1.0) / 2.0) * delta_s;
                let v = (row as f32 - (NS as f32 - 1.0) / 2.0) * delta_s;
                if u * u + v * v > RADIUS * RADIUS {
                    continue;
                }
                inside += 1;
                let (px, py) = (m.x + u * cos - v * sin, m.y + u * sin + v * cos);
                if !hull.near(px, py, HULL_MARGIN) {
                    continue;
                }
                valid += 1;
                let cell = row * NS + col;
                c.mask |= 1 << cell;
                let mut sums = [0f32; ND];
                for (p, dirs) in neighbours.iter().zip(&directions) {
                    let d2 = (p.x - px).powi(2) + (p.y - py).powi(2);
                    if d2 > (3.0 * SIGMA_S).powi(2) {
                        continue;
                    }
                    let spatial = (-d2 / (2.0 * SIGMA_S * SIGMA_S)).exp() / (SIGMA_S * (2.0 * PI).sqrt());
                    for (sum, d) in sums.iter_mut().zip(dirs) {
                        *sum += spatial * d;
                    }
                }
                for (k, sum) in sums.iter().enumerate() {
                    if *sum > THRESHOLD {
                        c.bits[k] |= 1 << cell;
                    }
                }
            }
        }
        if valid as f32 >= MIN_VALID_SHARE * inside as f32 {
            out.push((i, c));
        }
    }
    out
}

/// The integral of a Gaussian of spread [`SIGMA_D`] over `dd ± delta_d/2`.
fn directional(dd: f32, delta_d: f32) -> f32 {
    let s = SIGMA_D * std::f32::consts::SQRT_2;
    0.5 * (erf((dd + delta_d / 2.0) / s) - erf((dd - delta_d / 2.0) / s))
}

/// The error function (Abramowitz and Stegun 7.1.26; error below 1.5e-7).
fn erf(x: f32) -> f32 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let y = 1.0 - (((((1.061_405_4 * t - 1.453_152_1) * t) + 1.421_413_8) * t - 0.284_496_74) * t + 0.254_829_6) * t * (-x * x).exp();
    y.copysign(x)
}

/// The convex hull of the minutiae (counter-clockwise), to tell where the
/// finger was seen.
struct Hull(Vec<(f32, f32)>);

impl Hull {
    fn of(points: &[Point]) -> Hull {
        let mut p: Vec<(f32, f32)> = points.iter().map(|m| (m.x, m.y)).collect();
        p.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        p.dedup();
        if p.len() < 3 {
            return Hull(p);
        }
        let cross = |o: (f32, f32), a: (f32, f32), b: (f32, f32)| (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0);
        // Andrew's monotone chain.
        let mut hull: Vec<(f32, f32)> = Vec::with_capacity(2 * p.len());
        for pass in 0..2 {
            let start = hull.len();
            let iter: Box<dyn Iterator<Item = &(f32, f32)>> = if pass == 0 { Box::new(p.iter()) } else { Box::new(p.iter().rev()) };
            for &q in iter {
                while hull.len() >= start + 2 && cross(hull[hull.len() - 2], hull[hull.len() - 1], q) <= 0.0 {
                    hull.pop();
                }
                hull.push(q);
            }
            hull.pop();
        }
        Hull(hull)
    }

    /// Whether (x, y) lies inside the hull or within `margin` of it.
    fn near(&self, x: f32, y: f32, margin: f32) -> bool {
        let h = &self.0;
        match h.len() {
            0 => false,
            1 => (h[0].0 - x).hypot(h[0].1 - y) <= margin,
            _ => {
                let edges = || (0..h.len()).map(|i| (h[i], h[(i + 1) % h.len()]));
                // Inside: left of every edge (most cells are; no distances then).
                if h.len() >= 3 && edges().all(|(a, b)| (b.0 - a.0) * (y - a.1) - (b.1 - a.1) * (x - a.0) >= 0.0) {
                    return true;
                }
                // Squared distances: no square root per edge.
                let nearest = edges().fold(f32::INFINITY, |nearest, (a, b)| {
                    let (ex, ey) = (b.0 - a.0, b.1 - a.1);
                    let len2 = ex * ex + ey * ey;
                    let t = if len2 > 0.0 { (((x - a.0) * ex + (y - a.1) * ey) / len2).clamp(0.0, 1.0) } else { 0.0 };
                    nearest.min((a.0 + t * ex - x).powi(2) + (a.1 + t * ey - y).powi(2))
                });
                nearest <= margin * margin
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Vec<Point> {
        (0..36).map(|i| Point::new(100.0 + 20.0 * (i % 6) as f32, -100.0 - 20.0 * (i / 6) as f32, (i as f32 * 0.7) % (2.0 * PI))).collect()
    }

    #[test]
    fn cylinders_do_not_change_when_the_finger_moves_or_turns() {
        let a = grid();
        // Turn by 90° (exact in f32 for these coordinates) and shift.
        let b: Vec<Point> = a.iter().map(|p| Point::new(-p.y + 500.0, p.x - 40.0, (p.angle + PI / 2.0) % (2.0 * PI))).collect();
        let (ca, cb) = (cylinders(&a), cylinders(&b));
        assert!(!ca.is_empty());
        let same = ca.iter().zip(&cb).filter(|(x, y)| x == y).count();
        // Rounding near cell and section borders may flip a few bits.
        assert!(same * 10 >= ca.len() * 8, "{same} of {}", ca.len());
        let bits_agree: u32 = ca.iter().zip(&cb).map(|((_, x), (_, y))| x.bits.iter().zip(&y.bits).map(|(p, q)| (p ^ q).count_ones()).sum::<u32>()).sum();
        let bits: u32 = ca.iter().map(|(_, x)| x.bits.iter().map(|w| w.count_ones()).sum::<u32>()).sum();
        assert!(bits_agree * 50 < bits, "{bits_agree} bits differ of {bits}");
    }

    #[test]
    fn lonely_minutiae_have_no_cylinder() {
        let far = [Point::new(0.0, 0.0, 0.0), Point::new(1000.0, 0.0, 0.0), Point::new(0.0, 1000.0, 0.0)];
        assert!(cylinders(&far).is_empty());
    }

    #[test]
    fn erf_is_close_to_known_values() {
        for (x, e) in [(0.0, 0.0), (0.5, 0.520_499_9), (1.0, 0.842_700_8), (-2.0, -0.995_322_3)] {
            assert!((erf(x) - e).abs() < 1e-6, "erf({x}) = {}", erf(x));
        }
    }

    #[test]
    fn angle_differences_wrap() {
        assert!((angle_difference(0.1, 2.0 * PI - 0.1) - 0.2).abs() < 1e-5);
        assert!((angle_difference(2.0 * PI - 0.1, 0.1) + 0.2).abs() < 1e-5);
    }
}

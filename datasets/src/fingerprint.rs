//! Synthetic finger minutiae: the generator behind `hitdex generate
//! fingerprint`, for measuring the matcher and 1:N search at sizes no
//! public database reaches, with mated and non-mated pairs known.
//!
//! Each finger has a *master*: minutiae in the finger's own frame (pixels
//! at 500 ppi from the centre of the finger, y up), at least
//! `min_spacing` apart inside an elliptical finger area. They lie along a
//! ridge orientation field of one of the five Henry classes, in their
//! natural shares: Sherlock and Monro's zero-pole model, where each core
//! turns the ridges half a turn around it and each delta back (loops,
//! whorls, tented arches), or a smooth bump (plain arches), plus a gentle
//! wave of the finger's own. A minutia points along its ridge one way or
//! the other, half each, and keeps that sense in every impression.
//!
//! An *impression* is what a live-scan sensor and a minutiae extractor
//! make of the master: a contact ellipse smaller than the finger (the
//! pressure), a smooth skin distortion that is nil around a centre of
//! pressure and grows towards the rim, a rotation and a translation that
//! crop part of the finger out of the image, missing minutiae (more at the
//! rim of the contact), spurious ones (mostly along the ridge flow), a few
//! endings seen as bifurcations and back, position and direction jitter,
//! directions quantised to `mindtct`'s 11.25° and quality values low at
//! the rim and for spurious minutiae. The defaults are calibrated so that
//! the matcher's equal error rate on synthetic sets lies in the range it
//! shows on FVC2002 (`benches/tests/synthetic_fingerprints.rs`).
//!
//! Output depends on the seed only: every master and impression draws from
//! its own ChaCha8 stream (the finger and impression numbers), so fingers
//! are made in any order, in parallel or one at a time ([`finger`]), and
//! impression k of a finger does not depend on how many are asked for.

use std::f64::consts::{PI, TAU};

use hitdex_engine::fingerprint::{Angle, Minutia, MinutiaKind, Template, PPCM_500_PPI};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::DatasetError;

/// Step of minutia directions, as `mindtct` reports them (16 per half turn).
pub const ANGLE_STEP_DEGREES: f64 = 11.25;

/// Share of spurious minutiae directed along the ridge flow (the others at random).
const SPURIOUS_ALONG_FLOW: f64 = 0.7;
/// Share of impressions turned up to twice the configured rotation.
const LARGE_ROTATION_SHARE: f64 = 0.1;
/// Probability that an ending is found as a bifurcation or the reverse.
const KIND_CHANGE: f64 = 0.1;
/// Depth into the contact area, pixels, within which minutiae are missed
/// twice as often and have low quality.
const RIM: f64 = 20.0;
/// Pixels from the image border within which no minutia is reported.
const BORDER: f64 = 4.0;

/// What to generate. [`check`](Self::check) reports values out of range.
#[derive(Debug, Clone, PartialEq)]
pub struct FingerprintConfig {
    /// Number of fingers (default 100), numbered from 1.
    pub fingers: u32,
    /// Impressions per finger (default 8), numbered from 1.
    pub impressions: u32,
    /// Seed: the same seed gives the same templates (default 1).
    pub seed: u64,
    /// Image width in pixels at 500 ppi (default 300).
    pub width: u16,
    /// Image height in pixels (default 400).
    pub height: u16,
    /// Width of the elliptical finger area, pixels (default 250).
    pub finger_width: f64,
    /// Height of the finger area, pixels (default 350).
    pub finger_height: f64,
    /// Fewest minutiae of a master, over the whole finger area (default 50).
    pub min_minutiae: u32,
    /// Most minutiae of a master (default 90).
    pub max_minutiae: u32,
    /// Least distance between two master minutiae, pixels (default 10).
    pub min_spacing: f64,
    /// Smallest share of the finger's axes in contact with the sensor
    /// (default 0.8); each impression draws its share between this and 1.
    pub contact: f64,
    /// Most translation of the finger from the image centre along each
    /// axis, pixels (default 40).
    pub translation: f64,
    /// Most rotation, degrees either way (default 20; one impression in
    /// ten up to twice as much).
    pub rotation: f64,
    /// Skin distortion: most drag of the rim against the centre of
    /// pressure, pixels (default 6; a twist adds up to as much again).
    pub distortion: f64,
    /// Probability that a minutia in the contact area is missed (default
    /// 0.15; doubled near the rim of the contact).
    pub missing: f64,
    /// Mean number of spurious minutiae, as a share of the genuine ones
    /// found (default 0.2).
    pub spurious: f64,
    /// Standard deviation of position errors, pixels (default 1.5).
    pub position_jitter: f64,
    /// Standard deviation of direction errors, degrees (default 6).
    pub direction_jitter: f64,
    /// Spread of impression quality (default 0.5): each impression scales
    /// distortion, missing and spurious minutiae and jitters by
    /// `e^(spread·z)`, z standard normal clamped to ±2. The equal error
    /// rate depends most on this.
    pub condition_spread: f64,
}

impl Default for FingerprintConfig {
    fn default() -> Self {
        FingerprintConfig {
            fingers: 100,
            impressions: 8,
            seed: 1,
            width: 300,
            height: 400,
            finger_width: 250.0,
            finger_height: 350.0,
            min_minutiae: 50,
            max_minutiae: 90,
            min_spacing: 10.0,
            contact: 0.8,
            translation: 40.0,
            rotation: 20.0,
            distortion: 6.0,
            missing: 0.15,
            spurious: 0.2,
            position_jitter: 1.5,
            direction_jitter: 6.0,
            condition_spread: 0.5,
        }
    }
}

impl FingerprintConfig {
    /// Checks every field's range (as the table in the code says) and that
    /// masters fit: `min_minutiae <= max_minutiae`, with room for
    /// `max_minutiae` at `min_spacing` in the finger area.
    ///
    /// # Errors
    /// [`DatasetError::InvalidConfig`] naming the first bad field.
    pub fn check(&self) -> Result<(), DatasetError> {
        let ranges = [
            ("fingers", f64::from(self.fingers), 1.0, f64::from(u32::MAX)),
            ("impressions", f64::from(self.impressions), 1.0, f64::from(u32::MAX)),
            ("width", f64::from(self.width), 64.0, 2048.0),
            ("height", f64::from(self.height), 64.0, 2048.0),
            ("finger_width", self.finger_width, 10.0, 2048.0),
            ("finger_height", self.finger_height, 10.0, 2048.0),
            ("max_minutiae", f64::from(self.max_minutiae), 1.0, 200.0),
            ("min_spacing", self.min_spacing, 0.0, 100.0),
            ("contact", self.contact, 0.1, 1.0),
            ("translation", self.translation, 0.0, 2048.0),
            ("rotation", self.rotation, 0.0, 90.0),
            ("distortion", self.distortion, 0.0, 100.0),
            ("missing", self.missing, 0.0, 1.0),
            ("spurious", self.spurious, 0.0, 10.0),
            ("position_jitter", self.position_jitter, 0.0, 100.0),
            ("direction_jitter", self.direction_jitter, 0.0, 180.0),
            ("condition_spread", self.condition_spread, 0.0, 2.0),
        ];
        let bad = |m: String| Err(DatasetError::InvalidConfig(m));
        if let Some((name, x, lo, hi)) = ranges.iter().find(|(_, x, lo, hi)| !(lo..=hi).contains(&x)) {
            return bad(format!("{name} = {x} is not between {lo} and {hi}"));
        }
        if self.min_minutiae > self.max_minutiae {
            return bad(format!("min_minutiae = {} is above max_minutiae", self.min_minutiae));
        }
        // Random placement fills about half the area with discs of
        // diameter min_spacing; ask for at most a third, so it ends fast.
        let room = self.finger_width * self.finger_height / self.min_spacing.powi(2) / 3.0;
        if f64::from(self.max_minutiae) > room {
            let (n, d) = (self.max_minutiae, self.min_spacing);
            let size = format!("{} × {} px", self.finger_width, self.finger_height);
            return bad(format!("{n} minutiae {d} px apart do not fit in a {size} finger"));
        }
        Ok(())
    }
}

/// A master minutia, in the finger's frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MasterMinutia {
    /// Pixels right of the finger centre.
    pub x: f64,
    /// Pixels above the finger centre (y up).
    pub y: f64,
    /// Direction, radians counter-clockwise from the x axis, `0..2π`.
    pub angle: f64,
    /// Ending or bifurcation.
    pub kind: MinutiaKind,
}

/// A finger: its true minutiae and its ridge orientation field.
#[derive(Debug, Clone, PartialEq)]
pub struct Master {
    /// The minutiae, in order of placement.
    pub minutiae: Vec<MasterMinutia>,
    field: Field,
}

/// One impression and the master minutia behind each of its minutiae.
#[derive(Debug, Clone, PartialEq)]
pub struct Impression {
    /// The template, minutiae sorted by x then y (as `mindtct` writes them).
    pub template: Template,
    /// For each minutia, the index of its master minutia (`None`: spurious).
    pub sources: Vec<Option<usize>>,
}

/// A ridge orientation field (radians, modulo π) in the finger's frame.
#[derive(Debug, Clone, PartialEq)]
struct Field {
    cores: Vec<(f64, f64)>,
    deltas: Vec<(f64, f64)>,
    /// Plain arch: slope amplitude and width of the bump (0: none).
    arch: (f64, f64),
    /// Low-frequency waves: x and y frequencies, phase, amplitude.
    waves: [(f64, f64, f64, f64); 2],
    turn: f64,
}

impl Field {
    /// A field of a Henry class drawn in its share among fingers (NIST
    /// SD4: loops 65 %, whorls 28 %, arches 4 %, tented arches 3 %).
    fn random(rng: &mut ChaCha8Rng) -> Field {
        let u = |rng: &mut ChaCha8Rng, a: f64, b: f64| rng.gen_range(a..b);
        let side = if rng.gen() { 1.0 } else { -1.0 };
        let (cx, cy) = (8.0 * normal(rng), 10.0 + 12.0 * normal(rng));
        let class = rng.gen::<f64>();
        let (mut cores, mut deltas, mut arch) = (vec![(cx, cy)], Vec::new(), (0.0, 0.0));
        if class < 0.65 {
            deltas.push((cx + side * u(rng, 60.0, 110.0), cy - u(rng, 80.0, 130.0)));
        } else if class < 0.93 {
            // Two cores close together, a delta on each side below.
            let (r, a) = (u(rng, 8.0, 25.0), u(rng, 0.0, TAU));
            cores = vec![(cx + r * a.cos(), cy + r * a.sin()), (cx - r * a.cos(), cy - r * a.sin())];
            for s in [-1.0, 1.0] {
                deltas.push((cx + s * u(rng, 70.0, 110.0), cy - u(rng, 80.0, 130.0)));
            }
        } else if class < 0.97 {
            cores.clear();
            arch = (u(rng, 0.5, 1.2), u(rng, 50.0, 90.0));
        } else {
            deltas.push((cx + 4.0 * normal(rng), cy - u(rng, 30.0, 50.0)));
        }
        let wave = |rng: &mut ChaCha8Rng| {
            let (k, a, phase) = (TAU / u(rng, 150.0, 400.0), u(rng, 0.0, TAU), u(rng, 0.0, TAU));
            (k * a.cos(), k * a.sin(), phase, u(rng, 0.0, 0.15))
        };
        let (waves, turn) = ([wave(rng), wave(rng)], 0.1 * normal(rng));
        Field { cores, deltas, arch, waves, turn }
    }

    fn orientation(&self, x: f64, y: f64) -> f64 {
        let arg = |&(px, py): &(f64, f64)| 0.5 * (y - py).atan2(x - px);
        let (amplitude, width) = self.arch;
        let bump = (-amplitude * x / width.max(1.0) * (-0.5 * (x / width.max(1.0)).powi(2)).exp()).atan();
        let wave = |&(kx, ky, phase, a): &(f64, f64, f64, f64)| a * (kx * x + ky * y + phase).sin();
        self.turn + bump + self.waves.iter().map(wave).sum::<f64>() + self.cores.iter().map(arg).sum::<f64>() - self.deltas.iter().map(arg).sum::<f64>()
    }
}

/// The random stream of impression `impression` of finger `finger`
/// (impression 0: the master).
fn stream(seed: u64, finger: u32, impression: u32) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(u64::from(finger) << 32 | u64::from(impression));
    rng
}

/// A standard normal deviate (Box-Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u: f64 = 1.0 - rng.gen::<f64>();
    (-2.0 * u.ln()).sqrt() * (TAU * rng.gen::<f64>()).cos()
}

/// A Poisson deviate of mean `lambda` (Knuth's method; normal above 30).
fn poisson(rng: &mut ChaCha8Rng, lambda: f64) -> usize {
    if lambda > 30.0 {
        return (lambda + lambda.sqrt() * normal(rng)).round().max(0.0) as usize;
    }
    let (limit, mut product, mut k) = ((-lambda).exp(), rng.gen::<f64>(), 0);
    while product > limit {
        product *= rng.gen::<f64>();
        k += 1;
    }
    k
}

/// Along a ridge one way or the other: 0 or π, half each.
fn sense(rng: &mut ChaCha8Rng) -> f64 {
    if rng.gen() {
        PI
    } else {
        0.0
    }
}

/// An ending with probability `p_ending`, else a bifurcation.
fn kind(rng: &mut ChaCha8Rng, p_ending: f64) -> MinutiaKind {
    if rng.gen_bool(p_ending) {
        MinutiaKind::Ending
    } else {
        MinutiaKind::Bifurcation
    }
}

/// 0 below `a`, 1 above `b`, smooth between.
fn smoothstep(a: f64, b: f64, x: f64) -> f64 {
    let t = ((x - a) / (b - a)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// The master of finger `finger`: endings (60 %) and bifurcations placed
/// at random, at least `min_spacing` apart, directed along the field.
pub fn master(config: &FingerprintConfig, finger: u32) -> Master {
    let mut rng = stream(config.seed, finger, 0);
    let field = Field::random(&mut rng);
    let n = rng.gen_range(config.min_minutiae..=config.max_minutiae.max(config.min_minutiae));
    let (a, b) = (config.finger_width / 2.0, config.finger_height / 2.0);
    let mut minutiae: Vec<MasterMinutia> = Vec::with_capacity(n as usize);
    for _ in 0..100 * n {
        if minutiae.len() == n as usize {
            break;
        }
        let (x, y) = (rng.gen_range(-a..=a), rng.gen_range(-b..=b));
        let far = |m: &MasterMinutia| (m.x - x).powi(2) + (m.y - y).powi(2) >= config.min_spacing.powi(2);
        if (x / a).powi(2) + (y / b).powi(2) <= 1.0 && minutiae.iter().all(far) {
            let angle = (field.orientation(x, y) + sense(&mut rng)).rem_euclid(TAU);
            minutiae.push(MasterMinutia { x, y, angle, kind: kind(&mut rng, 0.6) });
        }
    }
    Master { minutiae, field }
}

/// Impression `impression` (from 1) of finger `finger`, whose master is `master`.
pub fn impression(config: &FingerprintConfig, master: &Master, finger: u32, impression: u32) -> Impression {
    let rng = &mut stream(config.seed, finger, impression);
    // How hard this impression is (dry or wet skin, a poor scan).
    let poor = (config.condition_spread * normal(rng).clamp(-2.0, 2.0)).exp();
    // Contact ellipse, pressure and skin distortion, in the finger's frame.
    let scale = rng.gen_range(config.contact.min(1.0)..=1.0) / 2.0;
    let (ca, cb) = (scale * config.finger_width, scale * config.finger_height);
    let centre = (8.0 * normal(rng), 12.0 * normal(rng));
    let pressure = (centre.0 + 15.0 * normal(rng), centre.1 + 20.0 * normal(rng));
    let (sin_drag, cos_drag) = rng.gen_range(0.0..TAU).sin_cos();
    let drag = poor * config.distortion * rng.gen_range(0.3..=1.0);
    let twist = poor * config.distortion * rng.gen_range(-1.0..=1.0) / 150.0;
    // Pose on the sensor.
    let most = config.rotation.to_radians() * if rng.gen_bool(LARGE_ROTATION_SHARE) { 2.0 } else { 1.0 };
    let rotation = rng.gen_range(-most..=most);
    let t = config.translation;
    let shift = (rng.gen_range(-t..=t), rng.gen_range(-t..=t));
    let (w, h) = (f64::from(config.width), f64::from(config.height));
    let (sin, cos) = rotation.sin_cos();
    // Where finger point (x, y) lands in the image (pixels, y down), the
    // local turn of the skin there, and its depth into the contact area.
    let place = |x: f64, y: f64| {
        let (dx, dy) = (x - pressure.0, y - pressure.1);
        let weight = smoothstep(30.0, 150.0, (dx * dx + dy * dy).sqrt());
        let x = x + weight * (drag * cos_drag - twist * dy) - centre.0;
        let y = y + weight * (drag * sin_drag + twist * dx) - centre.1;
        let (u, v) = (x * cos - y * sin + shift.0, x * sin + y * cos + shift.1);
        let depth = (1.0 - ((x / ca).powi(2) + (y / cb).powi(2)).sqrt()) * ca.min(cb);
        (w / 2.0 + u, h / 2.0 - v, weight * twist, depth)
    };
    let inside = |x: f64, y: f64| (BORDER..w - BORDER).contains(&x) && (BORDER..h - BORDER).contains(&y);
    let (jitter, position_jitter) = (poor * config.direction_jitter.to_radians(), poor * config.position_jitter);
    let mut found: Vec<(Minutia, Option<usize>)> = Vec::new();
    for (i, m) in master.minutiae.iter().enumerate() {
        let (x, y, turn, depth) = place(m.x, m.y);
        let (x, y) = (x + position_jitter * normal(rng), y + position_jitter * normal(rng));
        let rim = depth < RIM;
        let missed = (poor * config.missing * if rim { 2.0 } else { 1.0 }).min(1.0);
        if depth < 0.0 || !inside(x, y) || rng.gen_bool(missed) {
            continue;
        }
        let angle = m.angle + rotation + turn + jitter * normal(rng);
        let kind = match m.kind {
            MinutiaKind::Ending if rng.gen_bool(KIND_CHANGE) => MinutiaKind::Bifurcation,
            MinutiaKind::Bifurcation if rng.gen_bool(KIND_CHANGE) => MinutiaKind::Ending,
            k => k,
        };
        let quality = if rim { rng.gen_range(5..=40) } else { rng.gen_range(50..=95) };
        found.push((minutia(x, y, angle, kind, quality), Some(i)));
    }
    let spurious = poisson(rng, poor * config.spurious * found.len() as f64);
    let mut added = 0;
    for _ in 0..20 * spurious {
        if added == spurious {
            break;
        }
        let (x, y) = (centre.0 + rng.gen_range(-ca..=ca), centre.1 + rng.gen_range(-cb..=cb));
        let (u, v, turn, depth) = place(x, y);
        if depth < 0.0 || !inside(u, v) {
            continue;
        }
        let flow = master.field.orientation(x, y) + sense(rng) + rotation + turn + 2.0 * jitter * normal(rng);
        let angle = if rng.gen_bool(SPURIOUS_ALONG_FLOW) { flow } else { rng.gen_range(0.0..TAU) };
        found.push((minutia(u, v, angle, kind(rng, 0.5), rng.gen_range(5..=40)), None));
        added += 1;
    }
    found.sort_by_key(|(m, _)| (m.x, m.y));
    let quality = found.iter().map(|(m, _)| u32::from(m.quality)).sum::<u32>() / found.len().max(1) as u32;
    let (minutiae, sources) = found.into_iter().unzip();
    let template = Template {
        width: config.width,
        height: config.height,
        x_resolution: PPCM_500_PPI,
        y_resolution: PPCM_500_PPI,
        quality: quality as u8,
        minutiae,
        ..Template::default()
    };
    Impression { template, sources }
}

/// The minutia at image position (x, y) (inside the image) with direction
/// `angle` in radians, rounded to whole pixels and [`ANGLE_STEP_DEGREES`].
fn minutia(x: f64, y: f64, angle: f64, kind: MinutiaKind, quality: u8) -> Minutia {
    let steps = (angle.to_degrees() / ANGLE_STEP_DEGREES).round().rem_euclid(360.0 / ANGLE_STEP_DEGREES);
    let angle = Angle::from_units(steps as u32 * (ANGLE_STEP_DEGREES * f64::from(Angle::PER_DEGREE)) as u32);
    Minutia { x: x.round() as u16, y: y.round() as u16, angle, kind, quality }
}

/// The impressions 1..=`config.impressions` of finger `finger`: one
/// finger's share of [`generate`], for streaming.
pub fn finger(config: &FingerprintConfig, finger: u32) -> Vec<Template> {
    let m = master(config, finger);
    (1..=config.impressions).map(|k| impression(config, &m, finger, k).template).collect()
}

/// Every template, as `(finger, impression, template)` by finger then
/// impression, made in parallel. For many fingers, call [`finger`] per
/// finger instead of holding them all.
pub fn generate(config: &FingerprintConfig) -> Vec<(u32, u32, Template)> {
    let impressions = |f| finger(config, f).into_iter().zip(1..).map(move |(t, k)| (f, k, t));
    (1..=config.fingers).into_par_iter().flat_map_iter(impressions).collect()
}

/// One finger of a [`persons`] sample: `(reference, finger position, template)`.
pub type PersonFinger = (String, u8, Template);

/// A small ten-print sample to try 1:N search with: persons `P0001`,
/// `P0002`, ... whose fingers at positions 1..=`fingers` are impression 1
/// of distinct generated fingers; and `queries` queries of impressions 2,
/// in turn: the card of a person's every finger at its position (`C...`,
/// mated), one finger of a person at an unknown position (`L...`, a mated
/// latent), and a finger no person has (`U...`, unknown). Deterministic
/// for a seed; `config` gives the impression model (its `fingers`,
/// `impressions` and `seed` are set here).
pub fn persons(config: &FingerprintConfig, persons: u32, fingers: u8, queries: u32, seed: u64) -> (Vec<PersonFinger>, Vec<PersonFinger>) {
    let fingers = fingers.clamp(1, 10);
    let per = u32::from(fingers);
    let config = FingerprintConfig { fingers: persons * per + queries, impressions: 2, seed, ..config.clone() };
    let id = |person: u32, position: u8| person * per + u32::from(position);
    let gallery: Vec<PersonFinger> = (0..persons)
        .into_par_iter()
        .flat_map_iter(|p| {
            let config = &config;
            (1..=fingers).map(move |k| (format!("P{:04}", p + 1), k, impression(config, &master(config, id(p, k)), id(p, k), 1).template))
        })
        .collect();
    let second = |finger: u32, position: u8| Template { finger: position, ..impression(&config, &master(&config, finger), finger, 2).template };
    let mut out = Vec::new();
    for q in 0..queries {
        // Persons in turn, spread over the gallery.
        let p = (q * 7 + 3) % persons.max(1);
        match q % 3 {
            0 if persons > 0 => out.extend((1..=fingers).map(|k| (format!("C{:04}", q + 1), k, second(id(p, k), k)))),
            1 if persons > 0 => {
                let k = 1 + (q % per) as u8;
                out.push((format!("L{:04}", q + 1), 0, second(id(p, k), 0)));
            }
            _ => out.push((format!("U{:04}", q + 1), 0, second(persons * per + 1 + q, 0))),
        }
    }
    (gallery, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_person_sample_has_every_finger_and_three_kinds_of_query() {
        let config = FingerprintConfig::default();
        let (gallery, queries) = persons(&config, 5, 2, 6, 3);
        let ids: Vec<(&str, u8)> = gallery.iter().map(|(r, f, _)| (r.as_str(), *f)).collect();
        assert_eq!(ids, [("P0001", 1), ("P0001", 2), ("P0002", 1), ("P0002", 2), ("P0003", 1), ("P0003", 2), ("P0004", 1), ("P0004", 2), ("P0005", 1), ("P0005", 2)]);
        let names: Vec<(&str, u8, u8)> = queries.iter().map(|(r, f, t)| (r.as_str(), *f, t.finger)).collect();
        assert_eq!(names, [("C0001", 1, 1), ("C0001", 2, 2), ("L0002", 0, 0), ("U0003", 0, 0), ("C0004", 1, 1), ("C0004", 2, 2), ("L0005", 0, 0), ("U0006", 0, 0)]);
        // A card is the second impression of its person's fingers (query 0: person (0*7+3)%5 = 3).
        let again = persons(&config, 5, 2, 6, 3);
        assert_eq!(again.1, queries, "deterministic");
        let first = FingerprintConfig { fingers: 16, impressions: 2, seed: 3, ..config };
        assert_eq!(queries[0].2, Template { finger: 1, ..finger(&first, 3 * 2 + 1)[1].clone() });
        assert_eq!(gallery[6].2, finger(&first, 3 * 2 + 1)[0]);
    }

    fn small(fingers: u32, impressions: u32, seed: u64) -> FingerprintConfig {
        FingerprintConfig { fingers, impressions, seed, ..FingerprintConfig::default() }
    }

    #[test]
    fn same_seed_same_templates_and_another_seed_differs() {
        let a = generate(&small(6, 3, 7));
        assert_eq!(a, generate(&small(6, 3, 7)));
        assert_ne!(a, generate(&small(6, 3, 8)));
        let order: Vec<(u32, u32)> = a.iter().map(|(f, k, _)| (*f, *k)).collect();
        assert_eq!(order, (1..=6).flat_map(|f| (1..=3).map(move |k| (f, k))).collect::<Vec<_>>());
        // A finger, and an impression, do not depend on how many are made.
        let fourth: Vec<Template> = a[9..12].iter().map(|(_, _, t)| t.clone()).collect();
        assert_eq!(finger(&small(1, 3, 7), 4), fourth);
        assert_eq!(finger(&small(1, 2, 7), 4), fourth[..2]);
        // Different fingers and impressions differ.
        assert_ne!(a[0].2, a[1].2);
        assert_ne!(a[0].2, a[3].2);
    }

    #[test]
    fn templates_lie_in_the_image_with_quantised_angles() {
        let config = small(40, 4, 3);
        let all = generate(&config);
        assert_eq!(all.len(), 160);
        let step = (ANGLE_STEP_DEGREES * f64::from(Angle::PER_DEGREE)) as u32;
        let mut total = 0;
        for (_, _, t) in &all {
            assert_eq!((t.width, t.height), (300, 400));
            assert_eq!((t.x_resolution, t.y_resolution), (PPCM_500_PPI, PPCM_500_PPI));
            assert!((15..=150).contains(&t.minutiae.len()), "{} minutiae", t.minutiae.len());
            for m in &t.minutiae {
                assert!(m.x < t.width && m.y < t.height, "({}, {}) outside", m.x, m.y);
                assert_eq!(m.angle.units() % step, 0, "{} is not a multiple of 11.25°", m.angle);
                assert!((1..=100).contains(&m.quality));
                assert_ne!(m.kind, MinutiaKind::Other);
            }
            total += t.minutiae.len();
        }
        // FVC2002's mindtct templates hold 37 to 52 minutiae on average.
        let mean = total as f64 / all.len() as f64;
        assert!((35.0..=65.0).contains(&mean), "mean {mean} minutiae");
    }

    #[test]
    fn masters_are_spaced_inside_the_finger() {
        let config = small(30, 1, 5);
        for f in 1..=config.fingers {
            let m = master(&config, f);
            let n = m.minutiae.len() as u32;
            assert!((config.min_minutiae..=config.max_minutiae).contains(&n), "{n} minutiae");
            for (i, p) in m.minutiae.iter().enumerate() {
                let (a, b) = (config.finger_width / 2.0, config.finger_height / 2.0);
                assert!((p.x / a).powi(2) + (p.y / b).powi(2) <= 1.0);
                assert!((0.0..TAU).contains(&p.angle));
                for q in &m.minutiae[i + 1..] {
                    assert!((p.x - q.x).hypot(p.y - q.y) >= config.min_spacing);
                }
            }
        }
    }

    #[test]
    fn mated_impressions_share_most_master_minutiae() {
        let config = small(20, 4, 11);
        let (mut shared, mut pairs, mut spurious, mut found) = (0.0, 0, 0, 0);
        for f in 1..=config.fingers {
            let m = master(&config, f);
            let seen: Vec<Vec<usize>> = (1..=config.impressions)
                .map(|k| {
                    let i = impression(&config, &m, f, k);
                    assert_eq!(i.sources.len(), i.template.minutiae.len());
                    spurious += i.sources.iter().filter(|s| s.is_none()).count();
                    found += i.sources.len();
                    i.sources.into_iter().flatten().collect()
                })
                .collect();
            for (a, sa) in seen.iter().enumerate() {
                for sb in &seen[a + 1..] {
                    let common = sa.iter().filter(|s| sb.contains(s)).count();
                    shared += common as f64 / sa.len().min(sb.len()).max(1) as f64;
                    pairs += 1;
                }
            }
        }
        let shared = shared / f64::from(pairs);
        let spurious = spurious as f64 / found as f64;
        assert!((0.55..0.95).contains(&shared), "mated impressions share {shared:.2} of their minutiae");
        assert!((0.1..0.3).contains(&spurious), "{spurious:.2} of minutiae spurious");
    }

    #[test]
    fn bad_configs_are_named() {
        assert!(FingerprintConfig::default().check().is_ok());
        let d = FingerprintConfig::default;
        for (config, message) in [
            (FingerprintConfig { fingers: 0, ..d() }, "fingers = 0 is not between 1 and"),
            (FingerprintConfig { width: 20, ..d() }, "width = 20 is not between 64 and 2048"),
            (FingerprintConfig { missing: 1.5, ..d() }, "missing = 1.5 is not between 0 and 1"),
            (FingerprintConfig { rotation: f64::NAN, ..d() }, "rotation = NaN"),
            (FingerprintConfig { distortion: -1.0, ..d() }, "distortion = -1"),
            (FingerprintConfig { min_minutiae: 95, ..d() }, "min_minutiae = 95 is above max_minutiae"),
            (FingerprintConfig { min_spacing: 30.0, ..d() }, "90 minutiae 30 px apart do not fit in a 250 × 350 px finger"),
        ] {
            let error = config.check().unwrap_err().to_string();
            assert!(error.contains(message), "{error}");
        }
    }
}

//! Progress on standard error: a bar or spinner per phase when standard
//! error is a terminal, one line per finished phase always.

use std::sync::Mutex;

use hitdex_benches::dna::Progress;
use indicatif::{ProgressBar, ProgressStyle};

/// Phases of a long job, shown on standard error.
pub struct Phases {
    bar: Mutex<Option<(String, ProgressBar)>>,
}

impl Phases {
    pub fn new() -> Phases {
        Phases { bar: Mutex::new(None) }
    }
}

impl Progress for Phases {
    fn start(&self, phase: &str, total: Option<u64>) {
        let bar = match total {
            Some(n) => ProgressBar::new(n).with_style(
                ProgressStyle::with_template("{msg:32} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
                    .expect("valid template")
                    .progress_chars("=> "),
            ),
            None => ProgressBar::new_spinner().with_style(ProgressStyle::with_template("{spinner} {msg:32} {elapsed}").expect("valid template")),
        };
        bar.set_message(phase.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        if let Ok(mut slot) = self.bar.lock() {
            *slot = Some((phase.to_string(), bar));
        }
    }

    fn advance(&self, done: u64) {
        if let Ok(slot) = self.bar.lock() {
            if let Some((_, bar)) = slot.as_ref() {
                bar.set_position(done);
            }
        }
    }

    fn finish(&self, seconds: f64) {
        if let Ok(mut slot) = self.bar.lock() {
            if let Some((phase, bar)) = slot.take() {
                bar.finish_and_clear();
                eprintln!("  {phase:32} {seconds:9.3} s");
            }
        }
    }
}

/// Runs `f` as one phase and returns its result.
pub fn phase<T>(name: &str, f: impl FnOnce() -> T) -> T {
    let p = Phases::new();
    p.start(name, None);
    let t = std::time::Instant::now();
    let out = f();
    p.finish(t.elapsed().as_secs_f64());
    out
}
